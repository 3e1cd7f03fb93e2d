"""``/api/v1/pats`` and ``/api/v1/robots``: secrets appear once, changes are audited."""

from __future__ import annotations

from tests.authsvc.api.helpers import admin_headers, admin_rows, call
from tests.authsvc.token_endpoint.helpers import ALICE, BOB, Env, error_of
from tests.authsvc.tokenhelpers import basic


async def test_pats_for_any_user(env: Env) -> None:
    admin = await admin_headers(env)
    status, created = await call(env, "POST", "/api/v1/pats", admin, json={
        "user": ALICE, "name": "ci", "scopes": ["repository:alice/*:pull"], "expires_in": "1d",
    })  # fmt: skip
    assert status == 201 and created["secret"].startswith("asvc_pat_")
    ok = await env.get(service="registry", scope="repository:alice/a:pull,push",
                       headers=basic(ALICE, created["secret"]))  # fmt: skip
    assert ok.status == 200
    status, _ = await call(env, "POST", "/api/v1/pats", admin, json={
        "user": "nobody", "name": "ci", "scopes": ["repository:a:pull"],
    })  # fmt: skip
    assert status == 404
    await call(env, "POST", "/api/v1/pats", admin, json={
        "user": BOB, "name": "ci", "scopes": ["repository:bob/*:pull"],
    })  # fmt: skip
    status, mine = await call(env, "GET", "/api/v1/pats", admin, params={"user": ALICE})
    assert [p["id"] for p in mine["items"]] == [created["id"]]
    assert "secret" not in mine["items"][0]
    status, first = await call(env, "GET", "/api/v1/pats", admin, params={"limit": "1"})
    status, rest = await call(env, "GET", "/api/v1/pats", admin,
                              params={"after": str(first["next"])})  # fmt: skip
    assert len(first["items"]) == 1 and len(rest["items"]) == 2 and rest["next"] is None
    assert (await call(env, "GET", f"/api/v1/pats/{created['id']}", admin))[1]["name"] == "ci"
    assert (await call(env, "DELETE", f"/api/v1/pats/{created['id']}", admin))[0] == 204
    assert (await call(env, "DELETE", "/api/v1/pats/99999", admin))[0] == 404
    status, shown = await call(env, "GET", f"/api/v1/pats/{created['id']}", admin)
    assert shown["status"] == "revoked"
    rows = await admin_rows(env)
    assert rows[0].detail == (
        "pat create expires=1d name=ci scope=['repository:alice/*:pull'] user=alice"
    )
    assert rows[-1].detail == f"pat revoke id={created['id']}"
    assert created["secret"] not in repr(rows)


async def test_robots(env: Env) -> None:
    admin = await admin_headers(env)
    status, robot = await call(env, "POST", "/api/v1/robots", admin, json={
        "name": "ci", "scopes": ["repository:team/*:pull"], "description": "GitLab",
    })  # fmt: skip
    assert status == 201 and robot["name"] == "robot$ci" and robot["secret"]
    await env.seed.rule("robot$*", "team/*", ["pull"])
    ok = await env.get(service="registry", scope="repository:team/a:pull",
                       headers=basic("robot$ci", robot["secret"]))  # fmt: skip
    assert ok.status == 200
    assert (await call(env, "POST", "/api/v1/robots", admin, json={
        "name": "ci", "scopes": ["repository:team/*:pull"],
    }))[0] == 409  # fmt: skip
    status, rotated = await call(env, "POST", "/api/v1/robots/ci/secret", admin,
                                 json={"overlap": "1h"})  # fmt: skip
    assert status == 201 and rotated["secret"] != robot["secret"]
    assert len(rotated["secrets"]) == 2 and all("secret" not in s for s in rotated["secrets"])
    status, patched = await call(env, "PATCH", "/api/v1/robots/robot$ci", admin,
                                 json={"disabled": True})  # fmt: skip
    assert status == 200 and patched["disabled"]
    refused = await env.get(service="registry", scope="repository:team/a:pull",
                            headers=basic("robot$ci", rotated["secret"]))  # fmt: skip
    assert refused.status == 401
    status, listed = await call(env, "GET", "/api/v1/robots", admin)
    assert [r["name"] for r in listed["items"]] == ["robot$ci"]
    assert (await call(env, "GET", "/api/v1/robots/alice", admin))[0] == 404
    assert (await call(env, "GET", "/api/v1/robots/a$b", admin))[0] == 404
    assert (await call(env, "DELETE", "/api/v1/robots/ci", admin))[0] == 204
    status, body = await call(env, "POST", "/api/v1/robots/ci/secret", admin, json={})
    assert status == 404 and error_of(body)["code"] == "NOT_FOUND"
    assert [r.detail for r in await admin_rows(env)] == [
        "robot add description=GitLab name=ci scope=['repository:team/*:pull']",
        "robot secret rotate name=ci overlap=1h",
        "robot disable name=robot$ci",  # as given, like the CLI's rows
        "robot delete name=ci",
    ]
