"""``/api/v1/me``: self-service with a personal access token."""

from __future__ import annotations

import datetime as dt

from authsvc.appkeys import SERVICES
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, BOB, Env, error_of
from tests.authsvc.tokenhelpers import basic


async def token(env: Env, owner: str, *scopes: str) -> tuple[int, str]:
    record, secret = await env.app[SERVICES].pats.create(
        owner, name="api", scopes=list(scopes), expires_in=dt.timedelta(days=1)
    )
    return record.id, secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


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
    assert [p["name"] for p in listed] == ["api", "ci"]
    assert all("secret" not in p for p in listed)
    resp = await env.client.delete(f"/api/v1/me/pats/{created['id']}", headers=bearer(secret))
    assert resp.status == 204
    listed = await (await env.client.get("/api/v1/me/pats", headers=bearer(secret))).json()
    assert [p["status"] for p in listed] == ["active", "revoked"]
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
    for body in (
        "not json",
        "[]",
        '{"name": 1, "scopes": []}',
        '{"name": "x", "scopes": "repository:a:pull"}',
        '{"name": "x", "scopes": ["repository:a:fly"]}',
        '{"name": "x", "scopes": ["repository:a:pull"], "expires_in": "soon"}',
    ):
        resp = await env.client.post(
            "/api/v1/me/pats",
            data=body,
            headers={**bearer(secret), "Content-Type": "application/json"},
        )
        assert resp.status == 400, body
        assert error_of(await resp.json())["code"] == "REQUEST_INVALID"
