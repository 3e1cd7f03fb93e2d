"""Who may call the API: an administrator's token with ``api:admin:*``; throttling applies."""

from __future__ import annotations

import dataclasses

import pytest

from authsvc.appkeys import SERVICES
from authsvc.config import ThrottleConfig
from tests.authsvc.api.helpers import ROOT, admin_headers, bearer, call, token
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    AiohttpClient,
    Env,
    error_of,
    start,
)
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config


async def test_only_admin_tokens_with_the_admin_scope(env: Env) -> None:
    _, alices = await token(env, ALICE, "api:admin:*", "account:self:*")
    admin_pull_only = await admin_headers(env, "repository:*:pull")
    admin = await admin_headers(env)
    cases = [
        ({}, 401),
        (basic(ALICE, ALICE_PW), 401),  # a password never authenticates the API
        (basic(ROOT, "root-pw"), 401),
        (bearer(alices), 403),  # not an administrator
        (admin_pull_only, 403),  # an administrator's token without api:admin:*
        (admin, 200),
        ({"Authorization": admin["Authorization"].replace("Bearer ", "bearer ")}, 200),
    ]
    for headers, expected in cases:
        status, body = await call(env, "GET", "/api/v1/users", headers)
        assert status == expected, headers
        if expected == 401:
            assert error_of(body)["code"] == "UNAUTHORIZED"
    # The self-service part takes any token of the owner.
    assert (await call(env, "GET", "/api/v1/me", bearer(alices)))[0] == 200


async def test_revoked_token_and_disabled_owner(env: Env) -> None:
    admin = await admin_headers(env)
    pat_id, secret = await token(env, ALICE, "account:self:*")
    assert (await call(env, "GET", "/api/v1/me", bearer(secret)))[0] == 200
    await call(env, "PATCH", f"/api/v1/users/{ALICE}", admin, json={"disabled": True})
    # Resolved tokens are kept a second (README); drop them rather than wait.
    env.app[SERVICES].pats.resolved.clear()
    status, body = await call(env, "GET", "/api/v1/me", bearer(secret))
    assert status == 401 and error_of(body)["message"] == "user account is disabled"
    await call(env, "PATCH", f"/api/v1/users/{ALICE}", admin, json={"disabled": False})
    await call(env, "DELETE", f"/api/v1/pats/{pat_id}", admin)
    env.app[SERVICES].pats.resolved.clear()
    status, body = await call(env, "GET", "/api/v1/me", bearer(secret))
    assert status == 401 and "revoked" in error_of(body)["message"]


@pytest.fixture
async def throttled(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    config = make_config(db_url, keys)
    config = dataclasses.replace(
        config, throttle=ThrottleConfig(free_attempts=2, address_free_attempts=2)
    )
    env = await start(aiohttp_client, config, keys)
    await env.seed.user(ALICE, ALICE_PW)
    return env


async def test_wrong_tokens_are_throttled(throttled: Env) -> None:
    env = throttled
    _, secret = await token(env, ALICE, "account:self:*")
    wrong = secret[:-8] + "AAAAAAAA"
    statuses = [(await call(env, "GET", "/api/v1/me", bearer(wrong)))[0] for _ in range(4)]
    assert statuses[:2] == [401, 401] and statuses[-1] == 429
    resp = await env.client.get("/api/v1/me", headers=bearer(secret))
    assert resp.status == 429 and resp.headers["Retry-After"]
