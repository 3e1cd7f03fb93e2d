"""``/api/v1/groups``: what ``authsvc group ...`` does, through ``GroupService``."""

from __future__ import annotations

from aiohttp import web

from authsvc.api.routing import (
    ApiRoutes,
    Call,
    json_response,
    no_content,
    page,
    page_of,
    page_params,
)
from authsvc.api.schema import array, integer, obj, string
from authsvc.group_service import group_to_dict

api = ApiRoutes("groups", "Groups, matched by ACL accounts `group:NAME` (`authsvc group`)")

NAME = string("a group name", min_length=1, max_length=255)
USER_NAME = string("a user name", min_length=1, max_length=255)
GROUP = api.component(
    "Group",
    obj(
        {
            "id": integer(minimum=1, maximum=2**63 - 1),
            "name": NAME,
            "created_at": string(fmt="date-time", max_length=64),
            "members": array(USER_NAME, "member user names, sorted", max_items=1_000_000),
        },
        ["id", "name", "created_at", "members"],
    ),
)


@api.route(
    "GET", "/api/v1/groups", summary="List groups by name",
    params=page_params(NAME), response=page_of(GROUP, NAME),
)  # fmt: skip
async def list_groups(call: Call) -> web.Response:
    """A page of groups with their members, ordered by name."""
    limit = call.query.get("limit", 100)
    groups = await call.admin.groups.list(after=call.query.get("after"), limit=limit + 1)
    return json_response(page([group_to_dict(g) for g in groups], limit, lambda g: g["name"]))


@api.route(
    "POST", "/api/v1/groups", summary="Create a group", status=201, errors=[409],
    body=obj({"name": NAME}, ["name"]), response=GROUP,
)  # fmt: skip
async def create_group(call: Call) -> web.Response:
    """Create an empty group."""
    group = await call.admin.groups.add(call.body["name"])
    call.audit("group add", name=group.name)
    return json_response(group_to_dict(group), status=201)


@api.route("GET", "/api/v1/groups/{name}", summary="Show a group", response=GROUP)
async def get_group(call: Call) -> web.Response:
    """One group and its members."""
    return json_response(group_to_dict(await call.admin.groups.get(call.path["name"])))


@api.route("DELETE", "/api/v1/groups/{name}", summary="Delete a group", status=204)
async def delete_group(call: Call) -> web.Response:
    """Delete a group and its memberships (rules naming it then match nobody)."""
    group = await call.admin.groups.get(call.path["name"])
    await call.admin.groups.delete(group.name)
    call.audit("group delete", name=group.name)
    return no_content()


@api.route(
    "POST", "/api/v1/groups/{name}/members", summary="Add a member", status=204, errors=[409],
    body=obj({"user": USER_NAME}, ["user"]),
)  # fmt: skip
async def add_group_member(call: Call) -> web.Response:
    """Add a user to the group (409 if already a member)."""
    group = await call.admin.groups.get(call.path["name"])
    await call.admin.groups.add_member(group.name, call.body["user"])
    call.audit("group member add", group=group.name, user=call.body["user"])
    return no_content()


@api.route("DELETE", "/api/v1/groups/{name}/members/{user}", summary="Remove a member", status=204)
async def remove_group_member(call: Call) -> web.Response:
    """Remove a user from the group (404 if not a member)."""
    group = await call.admin.groups.get(call.path["name"])
    await call.admin.groups.remove_member(group.name, call.path["user"])
    call.audit("group member remove", group=group.name, user=call.path["user"])
    return no_content()
