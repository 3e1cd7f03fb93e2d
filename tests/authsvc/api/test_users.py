"""``/api/v1/users``: the CLI's user commands over HTTP, with the same service and audit rows."""

from __future__ import annotations

from tests.authsvc.api.helpers import admin_headers, admin_rows, call
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, Env, error_of
from tests.authsvc.tokenhelpers import basic

USERS = "/api/v1/users"


async def test_create_show_update_and_delete(env: Env) -> None:
    admin = await admin_headers(env)
    status, created = await call(env, "POST", USERS, admin, json={"name": "carol"})
    assert status == 201
    assert created["user"]["name"] == "carol" and not created["user"]["admin"]
    generated = created["password"]
    ok = await env.get(service="registry", scope="repository:carol/a:pull",
                       headers=basic("carol", generated))  # fmt: skip
    assert ok.status == 200
    status, body = await call(env, "POST", USERS, admin, json={"name": "carol", "password": "x"})
    assert status == 409 and error_of(body)["code"] == "CONFLICT"
    status, body = await call(
        env, "POST", USERS, admin, json={"name": "dave", "password": "dave-pw", "admin": True}
    )
    assert status == 201 and body["user"]["admin"] and "password" not in body

    status, shown = await call(env, "GET", f"{USERS}/carol", admin)
    assert status == 200 and shown["id"] == created["user"]["id"]
    assert shown["last_login_at"] is not None  # the login above
    status, patched = await call(env, "PATCH", f"{USERS}/carol", admin, json={"disabled": True})
    assert status == 200 and patched["disabled"]
    status, body = await call(env, "POST", f"{USERS}/carol/password", admin, json={})
    assert status == 200 and body["refresh_tokens_revoked"] == 0 and body["password"]
    status, body = await call(env, "POST", f"{USERS}/carol/password", admin,
                              json={"password": "carol-pw"})  # fmt: skip
    assert status == 200 and "password" not in body
    status, _ = await call(env, "DELETE", f"{USERS}/carol", admin)
    assert status == 204
    for method in ("GET", "DELETE"):
        status, body = await call(env, method, f"{USERS}/carol", admin)
        assert status == 404 and error_of(body)["code"] == "NOT_FOUND"
    assert [r.detail for r in await admin_rows(env)] == [
        "user add name=carol",
        "user add admin=True name=dave",
        "user disable name=carol",
        "user passwd name=carol",
        "user passwd name=carol",
        "user delete name=carol",
    ]
    rows = await admin_rows(env)
    assert {(r.subject, r.client_id) for r in rows} == {("root", "authsvc-api")}
    assert "carol-pw" not in repr(rows) and generated not in repr(rows)


async def test_list_pages_by_name(env: Env) -> None:
    admin = await admin_headers(env)
    for name in ("d1", "d2", "d3"):
        await call(env, "POST", USERS, admin, json={"name": name, "password": "pw"})
    names: list[str] = []
    after = None
    while True:
        params = {"limit": "2", **({"after": after} if after else {})}
        status, body = await call(env, "GET", USERS, admin, params=params)
        assert status == 200 and len(body["items"]) <= 2
        names += [u["name"] for u in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert names == sorted(["alice", "bob", "root", "d1", "d2", "d3"])
    for params in ({"limit": "0"}, {"limit": "x"}, {"limit": "501"}):
        status, body = await call(env, "GET", USERS, admin, params=params)
        assert status == 422 and error_of(body)["detail"] == {"field": "limit"}


async def test_invalid_input_changes_nothing(env: Env) -> None:
    admin = await admin_headers(env)
    for body in ({"name": "a:b"}, {"name": "@x"}, {"name": "x", "password": ""}, {"name": 3}):
        status, answer = await call(env, "POST", USERS, admin, json=body)
        assert status == 422, body
        assert error_of(answer)["code"] == "VALIDATION_FAILED"
    status, _ = await call(env, "PATCH", f"{USERS}/{ALICE}", admin, json={"disabled": "yes"})
    assert status == 422
    status, _ = await call(env, "GET", f"{USERS}/a:b", admin)
    assert status == 404
    status, _ = await call(
        env, "POST", USERS, {**admin, "Content-Type": "application/json"}, data="{"
    )
    assert status == 400
    assert await admin_rows(env) == []
    ok = await env.get(service="registry", scope="repository:alice/a:pull",
                       headers=basic(ALICE, ALICE_PW))  # fmt: skip
    assert ok.status == 200


async def test_token_ttl(env: Env) -> None:
    admin = await admin_headers(env)
    status, user = await call(env, "PATCH", f"{USERS}/{ALICE}", admin, json={"token_ttl": 900})
    assert status == 200 and user["token_ttl"] == 900 and not user["disabled"]
    resp = await env.get(service="registry", scope="repository:alice/a:pull",
                         headers=basic(ALICE, ALICE_PW))  # fmt: skip
    assert (await resp.json())["expires_in"] == 900
    for bad in ({"token_ttl": 59}, {}, {"token_ttl": "15m"}):
        assert (await call(env, "PATCH", f"{USERS}/{ALICE}", admin, json=bad))[0] == 422, bad
    status, user = await call(env, "PATCH", f"{USERS}/{ALICE}", admin, json={"token_ttl": None})
    assert status == 200 and user["token_ttl"] is None
    assert [r.detail for r in await admin_rows(env)] == [
        "user token-ttl name=alice ttl=900",
        "user token-ttl name=alice ttl=default",
    ]
