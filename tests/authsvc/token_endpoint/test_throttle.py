"""Login throttling at the token endpoint: the attacks it must slow, and the users it must not.

The app trusts 127.0.0.1 as a proxy, so each request's ``X-Forwarded-For`` plays a client
address. Three failures per account and address are free, eight per address.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from authsvc.config import ThrottleConfig
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    AiohttpClient,
    Env,
    error_of,
    oauth_error,
    refresh_token_for,
    start,
)
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config

THROTTLE = ThrottleConfig(free_attempts=3, address_free_attempts=8, base_delay=30, max_delay=900)


@pytest.fixture
async def tenv(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    config = make_config(db_url, keys, throttle=THROTTLE)
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, trusted_proxies=("127.0.0.1/32",))
    )
    env = await start(aiohttp_client, config, keys)
    await env.seed.user(ALICE, ALICE_PW)
    return env


async def login(env: Env, user: str, password: str, address: str) -> Any:
    headers = {**basic(user, password), "X-Forwarded-For": address}
    return await env.get(service="registry", headers=headers)


async def statuses(env: Env, user: str, password: str, address: str, n: int) -> list[int]:
    return [(await login(env, user, password, address)).status for _ in range(n)]


async def test_brute_force_is_slowed_and_says_when_to_retry(tenv: Env) -> None:
    assert await statuses(tenv, ALICE, "guess", "10.0.0.1", 4) == [401, 401, 401, 401]
    resp = await login(tenv, ALICE, "guess", "10.0.0.1")
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 30
    error = error_of(await resp.json())
    assert error["code"] == "TOOMANYREQUESTS" and "try again in" in error["message"]
    # Even the right password is not checked while blocked.
    assert (await login(tenv, ALICE, ALICE_PW, "10.0.0.1")).status == 429


async def test_the_real_user_logs_in_from_elsewhere_meanwhile(tenv: Env) -> None:
    refresh = await refresh_token_for(tenv, ALICE, ALICE_PW)
    await statuses(tenv, ALICE, "guess", "10.0.0.1", 5)
    assert (await login(tenv, ALICE, "guess", "10.0.0.1")).status == 429
    assert (await login(tenv, ALICE, ALICE_PW, "10.0.0.2")).status == 200
    # Her refresh token keeps working from anywhere, the attacker's address included.
    resp = await tenv.client.post(
        "/auth",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": "registry",
            "client_id": "docker",
        },
        headers={"X-Forwarded-For": "10.0.0.1"},
    )
    assert resp.status == 200


async def test_rotating_user_names_hits_the_address_limit(tenv: Env) -> None:
    results = [(await login(tenv, f"user{i}", "guess", "10.0.0.3")).status for i in range(12)]
    assert results[:9] == [401] * 9 and results[9:] == [429] * 3
    # Another address is not affected.
    assert (await login(tenv, "user99", "guess", "10.0.0.4")).status == 401


async def test_unknown_users_are_throttled_exactly_like_known_ones(tenv: Env) -> None:
    known = await statuses(tenv, ALICE, "guess", "10.0.1.1", 6)
    unknown = await statuses(tenv, "nobody", "guess", "10.0.1.2", 6)
    assert known == unknown == [401, 401, 401, 401, 429, 429]
    a = await login(tenv, ALICE, "guess", "10.0.1.1")
    b = await login(tenv, "nobody", "guess", "10.0.1.2")
    assert set(a.headers) == set(b.headers)
    assert error_of(await a.json()) == error_of(await b.json())


async def test_success_resets_the_count(tenv: Env) -> None:
    assert await statuses(tenv, ALICE, "guess", "10.0.2.1", 3) == [401] * 3
    assert (await login(tenv, ALICE, ALICE_PW, "10.0.2.1")).status == 200
    assert await statuses(tenv, ALICE, "guess", "10.0.2.1", 4) == [401] * 4


async def test_the_password_grant_is_throttled_too(tenv: Env) -> None:
    form = {
        "grant_type": "password",
        "username": ALICE,
        "password": "guess",
        "service": "registry",
        "client_id": "t",
    }
    headers = {"X-Forwarded-For": "10.0.3.1"}
    codes = [(await tenv.client.post("/auth", data=form, headers=headers)).status for _ in range(4)]
    assert codes == [400, 400, 400, 400]
    resp = await tenv.client.post("/auth", data=form, headers=headers)
    assert resp.status == 429 and resp.headers["Retry-After"]
    assert oauth_error(await resp.json()) == "invalid_request"
    # The GET form from the same address shares the counter.
    assert (await login(tenv, ALICE, "guess", "10.0.3.1")).status == 429


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    env = await start(aiohttp_client, make_config(db_url, keys, throttle=THROTTLE), keys)
    await env.seed.user(ALICE, ALICE_PW)
    # Rotating the header does not help: without trusted proxies the peer address counts.
    codes = [(await login(env, ALICE, "guess", f"10.9.0.{i}")).status for i in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]
