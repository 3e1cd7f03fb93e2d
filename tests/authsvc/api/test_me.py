"""``/api/v1/me``: self-service with a personal access token."""

from __future__ import annotations

from authsvc.appkeys import SERVICES
from tests.authsvc.api.helpers import admin_rows, bearer, token
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, BOB, Env, error_of
from tests.authsvc.tokenhelpers import basic


async def test_me_with_bearer_and_basic(env: Env) -> None:
    _, secret = await token(env, ALICE, "repository:alice/*:pull")
    for headers in (bearer(secret), basic(ALICE, secret)):
        resp = await env.client.get("/api/v1/me", headers=headers)
        assert resp.status == 200
        assert (await resp.json())["name"] == ALICE


async def test_passwords_and_garbage_do_not_authenticate(env: Env) -> None:
    _, secret = await token(env, ALICE, "repository:alice/*:pull")
    for headers in (
        {},
        basic(ALICE, ALICE_PW),
        bearer("nonsense"),
        bearer(secret[:-1] + "x"),
        basic(BOB, secret),
    ):
        resp = await env.client.get("/api/v1/me/pats", headers=headers)
        assert resp.status == 401
        assert error_of(await resp.json())["code"] == "UNAUTHORIZED"


async def test_list_create_and_revoke_own_tokens(env: Env) -> None:
    admin_id, secret = await token(env, ALICE, "account:self:*", "repository:alice/*:pull")
    resp = await env.client.post(
        "/api/v1/me/pats",
        json={"name": "ci", "scopes": ["repository:alice/app:pull"], "expires_in": "7d"},
        headers=bearer(secret),
    )
    assert resp.status == 201
    created = await resp.json()
    assert created["secret"].startswith("asvc_pat_") and created["user"] == ALICE
    listed = await (await env.client.get("/api/v1/me/pats", headers=bearer(secret))).json()
    assert [p["name"] for p in listed["items"]] == ["api", "ci"] and listed["next"] is None
    assert all("secret" not in p for p in listed["items"])
    resp = await env.client.delete(f"/api/v1/me/pats/{created['id']}", headers=bearer(secret))
    assert resp.status == 204
    listed = await (await env.client.get("/api/v1/me/pats", headers=bearer(secret))).json()
    assert [p["status"] for p in listed["items"]] == ["active", "revoked"]
    assert [r.detail.split()[:2] for r in await admin_rows(env)] == [
        ["pat", "create"],
        ["pat", "revoke"],
    ]
    # The new token is refused at the token endpoint once revoked (within a second).
    assert admin_id != created["id"]


async def test_a_pull_token_cannot_mint_tokens(env: Env) -> None:
    _, secret = await token(env, ALICE, "repository:alice/*:pull")
    resp = await env.client.post(
        "/api/v1/me/pats",
        json={"name": "wider", "scopes": ["repository:*:pull,push"]},
        headers=bearer(secret),
    )
    assert resp.status == 403
    assert await env.app[SERVICES].pats.list(ALICE) != []
    assert len(await env.app[SERVICES].pats.list(ALICE)) == 1


async def test_another_users_token_cannot_be_revoked(env: Env) -> None:
    bobs_id, _ = await token(env, BOB, "repository:bob/*:pull")
    _, secret = await token(env, ALICE, "repository:alice/*:pull")
    resp = await env.client.delete(f"/api/v1/me/pats/{bobs_id}", headers=bearer(secret))
    assert resp.status == 404
    [bobs] = await env.app[SERVICES].pats.list(BOB)
    assert not bobs.revoked


async def test_bad_bodies(env: Env) -> None:
    _, secret = await token(env, ALICE, "account:self:*")
    # Not a JSON object at all: 400.
    for body in ("not json", "[]", "[" * 5000):
        resp = await env.client.post(
            "/api/v1/me/pats",
            data=body,
            headers={**bearer(secret), "Content-Type": "application/json"},
        )
        assert resp.status == 400, body
        assert error_of(await resp.json())["code"] == "REQUEST_INVALID"
    # JSON whose fields are wrong: 422, naming the field.
    for body, field in (
        ('{"name": 1, "scopes": ["repository:a:pull"]}', "name"),
        ('{"name": "x", "scopes": "repository:a:pull"}', "scopes"),
        ('{"name": "x"}', "scopes"),
        ('{"name": "x", "scopes": ["repository:a:pull"], "extra": 1}', "extra"),
        ('{"name": "x\\u0000", "scopes": ["repository:a:pull"]}', "name"),
        ('{"name": "\\ud800", "scopes": ["repository:a:pull"]}', "name"),
        ('{"name": "x", "scopes": ["repository:a:fly"]}', None),
        ('{"name": "x", "scopes": ["repository:a:pull"], "expires_in": "soon"}', None),
    ):
        resp = await env.client.post(
            "/api/v1/me/pats",
            data=body,
            headers={**bearer(secret), "Content-Type": "application/json"},
        )
        assert resp.status == 422, body
        error = error_of(await resp.json())
        assert error["code"] == "VALIDATION_FAILED"
        assert error["detail"] == ({"field": field} if field else None), body
    assert len(await env.app[SERVICES].pats.list(ALICE)) == 1


async def test_change_own_password(env: Env) -> None:
    _, secret = await token(env, ALICE, "account:self:*")
    _, pull_only = await token(env, ALICE, "repository:alice/*:pull")
    body = {"current_password": ALICE_PW, "new_password": "new-alice-pw"}
    resp = await env.client.post("/api/v1/me/password", json=body, headers=bearer(pull_only))
    assert resp.status == 403
    wrong = {**body, "current_password": "not-it"}
    resp = await env.client.post("/api/v1/me/password", json=wrong, headers=bearer(secret))
    assert resp.status == 403
    assert error_of(await resp.json())["message"] == "the current password is wrong"
    # A PAT is no password, even a valid one.
    token_as_pw = {**body, "current_password": secret}
    resp = await env.client.post("/api/v1/me/password", json=token_as_pw, headers=bearer(secret))
    assert resp.status == 403
    resp = await env.client.post("/api/v1/me/password", json=body, headers=bearer(secret))
    assert resp.status == 204
    old = await env.get(service="registry", scope="repository:alice/a:pull",
                        headers=basic(ALICE, ALICE_PW))  # fmt: skip
    assert old.status == 401
    new = await env.get(service="registry", scope="repository:alice/a:pull",
                        headers=basic(ALICE, "new-alice-pw"))  # fmt: skip
    assert new.status == 200
    assert [r.detail for r in await admin_rows(env)] == ["user passwd name=alice"]
