"""``/api/v1/robots``: robot accounts (``authsvc robot ...``), through ``RobotService``."""

from __future__ import annotations

from aiohttp import web

from authsvc.api.pats import PAT, SCOPES, SECRET, expires_in
from authsvc.api.routing import (
    ApiRoutes,
    Call,
    json_response,
    no_content,
    page,
    page_of,
    page_params,
)
from authsvc.api.schema import Schema, array, boolean, nullable, obj, string
from authsvc.api.users import TOKEN_TTL
from authsvc.models import utcnow
from authsvc.pat_service import MAX_NAME_LENGTH
from authsvc.robot_service import parse_overlap, robot_to_dict

api = ApiRoutes("robots", "Robot accounts `robot$NAME` and their secrets (`authsvc robot`)")

NAME = string("NAME or robot$NAME", min_length=1, max_length=255)
ROBOT_FIELDS: dict[str, Schema] = {
    "name": string("robot$NAME", max_length=255),
    "disabled": boolean(),
    "created_at": string(fmt="date-time", max_length=64),
    "token_ttl": nullable(TOKEN_TTL),
    "secrets": array(PAT, "its secrets (tokens), oldest first", max_items=1_000_000),
}
ROBOT = api.component("Robot", obj(ROBOT_FIELDS, list(ROBOT_FIELDS)))
NEW_ROBOT = api.component(
    "NewRobot", obj({**ROBOT_FIELDS, "secret": SECRET}, [*ROBOT_FIELDS, "secret"])
)


@api.route(
    "GET", "/api/v1/robots", summary="List robots by name",
    params=page_params(string(max_length=255)), response=page_of(ROBOT, string(max_length=255)),
)  # fmt: skip
async def list_robots(call: Call) -> web.Response:
    """A page of robots with their secrets' state, ordered by name."""
    limit = call.query.get("limit", 100)
    robots = await call.admin.robots.list(after=call.query.get("after"), limit=limit + 1)
    now = utcnow()
    return json_response(page([robot_to_dict(r, now) for r in robots], limit, lambda r: r["name"]))


@api.route(
    "POST", "/api/v1/robots", summary="Create a robot", status=201, errors=[409],
    body=obj(
        {
            "name": NAME,
            "scopes": SCOPES,
            "expires_in": string("secret lifetime such as 90d (default: never)", max_length=32),
            "description": string("what it is for", min_length=1, max_length=MAX_NAME_LENGTH),
            "token_ttl": TOKEN_TTL,
        },
        ["name", "scopes"],
    ),
    response=NEW_ROBOT,
)  # fmt: skip
async def create_robot(call: Call) -> web.Response:
    """Create a robot and its first secret, which this answer shows once."""
    body = call.body
    robot, secret = await call.admin.robots.add(
        body["name"], scopes=body["scopes"], expires_in=expires_in(body.get("expires_in")),
        description=body.get("description"), token_ttl=body.get("token_ttl"),
    )  # fmt: skip
    call.audit(
        "robot add", name=body["name"], scope=body["scopes"], expires=body.get("expires_in"),
        description=body.get("description"), token_ttl=body.get("token_ttl"),
    )  # fmt: skip
    return json_response({**robot_to_dict(robot, utcnow()), "secret": secret}, status=201)


@api.route("GET", "/api/v1/robots/{name}", summary="Show a robot", response=ROBOT)
async def get_robot(call: Call) -> web.Response:
    """One robot and its secrets' state."""
    return json_response(robot_to_dict(await call.admin.robots.get(call.path["name"]), utcnow()))


@api.route(
    "PATCH", "/api/v1/robots/{name}", summary="Change a robot's state or token lifetime",
    response=ROBOT,
    body=obj(
        {
            "disabled": boolean(),
            "token_ttl": nullable({**TOKEN_TTL, "description": "null: the server's setting"}),
        }
    ),
)  # fmt: skip
async def update_robot(call: Call) -> web.Response:
    """Disable or enable a robot (its secrets stop or start working within a second), and/or
    set its access-token lifetime."""
    robots = call.admin.robots
    robot = await robots.get(call.path["name"])
    if not call.body:
        raise ValueError("give disabled, token_ttl or both")
    if "disabled" in call.body:
        disabled = bool(call.body["disabled"])
        await robots.set_disabled(robot.user.name, disabled)
        call.audit(f"robot {'disable' if disabled else 'enable'}", name=call.path["name"])
    if "token_ttl" in call.body:
        token_ttl = call.body["token_ttl"]
        await robots.set_token_ttl(robot.user.name, token_ttl)
        call.audit("robot token-ttl", name=call.path["name"], ttl=token_ttl or "default")
    return json_response(robot_to_dict(await robots.get(robot.user.name), utcnow()))


@api.route("DELETE", "/api/v1/robots/{name}", summary="Delete a robot", status=204)
async def delete_robot(call: Call) -> web.Response:
    """Delete a robot and its secrets."""
    robot = await call.admin.robots.get(call.path["name"])
    await call.admin.robots.delete(robot.user.name)
    call.audit("robot delete", name=call.path["name"])
    return no_content()


@api.route(
    "POST", "/api/v1/robots/{name}/secret", summary="Rotate a robot's secret", status=201,
    body=obj({"overlap": string("how long older secrets keep working, e.g. 1h", max_length=32)}),
    response=NEW_ROBOT,
)  # fmt: skip
async def rotate_robot_secret(call: Call) -> web.Response:
    """A new secret (shown once) with the newest one's scopes; older ones end after overlap.

    404 when the robot has no active secret to rotate.
    """
    overlap = call.body.get("overlap", "0")
    robots = call.admin.robots
    robot = await robots.get(call.path["name"])
    rotated, secret = await robots.rotate(
        robot.user.name, overlap=parse_overlap(overlap, "overlap")
    )
    call.audit("robot secret rotate", name=call.path["name"], overlap=overlap)
    return json_response({**robot_to_dict(rotated, utcnow()), "secret": secret}, status=201)
