"""``/api/v1/groups``: groups and members, as ``authsvc group`` manages them."""

from __future__ import annotations

from tests.authsvc.api.helpers import admin_headers, admin_rows, call
from tests.authsvc.token_endpoint.helpers import ALICE, BOB, Env, error_of

GROUPS = "/api/v1/groups"


async def test_groups_and_members(env: Env) -> None:
    admin = await admin_headers(env)
    status, group = await call(env, "POST", GROUPS, admin, json={"name": "devs"})
    assert status == 201 and group["members"] == []
    assert (await call(env, "POST", GROUPS, admin, json={"name": "devs"}))[0] == 409
    for user in (BOB, ALICE):
        status, _ = await call(env, "POST", f"{GROUPS}/devs/members", admin, json={"user": user})
        assert status == 204
    status, body = await call(env, "POST", f"{GROUPS}/devs/members", admin, json={"user": BOB})
    assert status == 409 and error_of(body)["code"] == "CONFLICT"
    status, body = await call(env, "POST", f"{GROUPS}/devs/members", admin, json={"user": "zed"})
    assert status == 404
    status, shown = await call(env, "GET", f"{GROUPS}/devs", admin)
    assert shown["members"] == [ALICE, BOB]
    await call(env, "POST", GROUPS, admin, json={"name": "ops"})
    status, first = await call(env, "GET", GROUPS, admin, params={"limit": "1"})
    assert [g["name"] for g in first["items"]] == ["devs"] and first["next"] == "devs"
    assert first["items"][0]["members"] == [ALICE, BOB]
    status, rest = await call(env, "GET", GROUPS, admin, params={"after": "devs"})
    assert [g["name"] for g in rest["items"]] == ["ops"] and rest["next"] is None
    status, _ = await call(env, "DELETE", f"{GROUPS}/devs/members/{BOB}", admin)
    assert status == 204
    status, _ = await call(env, "DELETE", f"{GROUPS}/devs/members/{BOB}", admin)
    assert status == 404
    assert (await call(env, "DELETE", f"{GROUPS}/devs", admin))[0] == 204
    assert (await call(env, "GET", f"{GROUPS}/devs", admin))[0] == 404
    assert [r.detail for r in await admin_rows(env)] == [
        "group add name=devs",
        "group member add group=devs user=bob",
        "group member add group=devs user=alice",
        "group add name=ops",
        "group member remove group=devs user=bob",
        "group delete name=devs",
    ]
