"""Login throttling through the real app: the lockout-weapon scenarios, on SQLite and PostgreSQL.

Addresses other than the test client's 127.0.0.1 come from X-Forwarded-For, believed because
the configuration trusts 127.0.0.0/8 as a proxy (``AUTHSVC_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from authsvc import store
from authsvc.appkeys import AUDIT, SESSIONMAKER
from authsvc.config import ServerConfig, ThrottleConfig
from authsvc.passwords import PasswordHasher
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    AiohttpClient,
    Env,
    error_of,
    post_refresh,
    refresh_token_for,
    start,
)
from tests.authsvc.tokenhelpers import REALM, KeyPair, basic, make_config

FREE, ADDRESS_FREE, BASE = 3, 8, 60
A, B, C, D = "203.0.113.1", "198.51.100.2", "192.0.2.3", "192.0.2.4"
SCOPE = "repository:alice/app:pull"


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every argon2 verification the server runs, by the password it was given."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, password: str, stored: str | None) -> Any:
        seen.append(password)
        return original(self, password, stored)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    yield seen


async def throttled_env(
    aiohttp_client: AiohttpClient,
    db_url: str,
    keys: KeyPair,
    throttle: ThrottleConfig,
    *,
    proxies: tuple[str, ...] = ("127.0.0.0/8",),
) -> Env:
    config = make_config(db_url, keys, cache_ttl=0)
    config = dataclasses.replace(
        config,
        server=ServerConfig(realm=REALM, trusted_proxies=proxies),
        throttle=throttle,
    )
    env = await start(aiohttp_client, config, keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull", "push"])
    return env


@pytest.fixture
async def tenv(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    throttle = ThrottleConfig(
        free_attempts=FREE, address_free_attempts=ADDRESS_FREE, base_delay=BASE, max_delay=600
    )
    return await throttled_env(aiohttp_client, db_url, keys, throttle)


async def login(env: Env, user: str, password: str, address: str) -> Any:
    headers = {**basic(user, password), "X-Forwarded-For": address}
    return await env.get(service="registry", scope=SCOPE, headers=headers)


async def statuses(env: Env, user: str, password: str, address: str, n: int) -> list[int]:
    return [(await login(env, user, password, address)).status for _ in range(n)]


async def test_brute_force_is_blocked_without_password_checks(
    tenv: Env, verifications: list[str]
) -> None:
    assert await statuses(tenv, ALICE, "guess", A, FREE + 1) == [401] * (FREE + 1)
    checked = len(verifications)
    resp = await login(tenv, ALICE, "guess", A)
    assert resp.status == 429
    # Doubling from the base: the first block after FREE free failures is BASE seconds.
    assert BASE - 2 <= int(resp.headers["Retry-After"]) <= BASE
    error = error_of(await resp.json())
    assert error["code"] == "TOOMANYREQUESTS"
    assert "too many failed logins" in error["message"]
    # Even the right password is refused from the blocked address, and nothing was verified.
    assert (await login(tenv, ALICE, ALICE_PW, A)).status == 429
    assert len(verifications) == checked


async def test_attack_from_one_address_does_not_lock_out_another(tenv: Env) -> None:
    refresh = await refresh_token_for(tenv, ALICE, ALICE_PW)
    assert await statuses(tenv, ALICE, "guess", A, FREE + 3) == [401] * (FREE + 1) + [429] * 2
    # Alice from B logs in while A is blocked, and her refresh token works from anywhere.
    assert (await login(tenv, ALICE, ALICE_PW, B)).status == 200
    assert (await post_refresh(tenv, refresh)).status == 200
    resp = await tenv.get(service="registry", headers={**basic("", refresh), "X-Forwarded-For": A})
    assert resp.status == 200


async def test_unknown_users_are_throttled_exactly_like_known_ones(tenv: Env) -> None:
    async def trace(user: str, address: str) -> list[tuple[int, Any, str | None]]:
        out = []
        for _ in range(FREE + 3):
            resp = await login(tenv, user, "guess", address)
            out.append((resp.status, await resp.json(), resp.headers.get("WWW-Authenticate")))
        return out

    assert await trace(ALICE, A) == await trace("nosuchuser", C)


async def test_rotating_user_names_hits_the_address_limit(tenv: Env) -> None:
    results = [(await login(tenv, f"user{i}", "guess", D)).status for i in range(ADDRESS_FREE + 2)]
    assert results == [401] * (ADDRESS_FREE + 1) + [429]
    # A fresh name from the same address is blocked too; another address is not.
    assert (await login(tenv, "yetanother", "guess", D)).status == 429
    assert (await login(tenv, ALICE, ALICE_PW, B)).status == 200


async def test_success_resets_the_account_count(tenv: Env) -> None:
    assert await statuses(tenv, ALICE, "guess", A, FREE) == [401] * FREE
    assert (await login(tenv, ALICE, ALICE_PW, A)).status == 200
    # Counting starts again: FREE + 1 more failures before a block.
    assert await statuses(tenv, ALICE, "guess", A, FREE + 2) == [401] * (FREE + 1) + [429]


async def test_post_password_grant_is_throttled_too(tenv: Env) -> None:
    async def grant(password: str) -> Any:
        return await tenv.client.post(
            "/auth",
            data={
                "grant_type": "password", "username": ALICE, "password": password,
                "service": "registry", "client_id": "test",
            },
            headers={"X-Forwarded-For": A},
        )  # fmt: skip

    codes = [(await grant("guess")).status for _ in range(FREE + 1)]
    assert codes == [400] * (FREE + 1)
    resp = await grant(ALICE_PW)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    body = await resp.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["errors"][0]["code"] == "TOOMANYREQUESTS"


async def test_forwarded_for_is_ignored_from_untrusted_peers(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    throttle = ThrottleConfig(free_attempts=FREE, address_free_attempts=100, base_delay=BASE)
    # The test client's peer, 127.0.0.1, is not a trusted proxy here.
    env = await throttled_env(aiohttp_client, db_url, keys, throttle, proxies=("10.0.0.0/8",))
    for i in range(FREE + 1):
        assert (await login(env, ALICE, "guess", f"10.0.0.{i}")).status == 401
    # Every attempt counted for 127.0.0.1, whatever the header claimed.
    assert (await login(env, ALICE, ALICE_PW, "10.9.9.9")).status == 429


async def test_zero_turns_throttling_off(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    env = await throttled_env(aiohttp_client, db_url, keys, ThrottleConfig(free_attempts=0))
    assert await statuses(env, ALICE, "guess", A, 8) == [401] * 8
    assert (await login(env, ALICE, ALICE_PW, A)).status == 200
    async with store.transaction(env.app[SESSIONMAKER]) as session:
        assert await store.list_login_failures(session) == []


async def test_replicas_share_the_counts(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    throttle = ThrottleConfig(free_attempts=FREE, address_free_attempts=100, base_delay=BASE)
    one = await throttled_env(aiohttp_client, db_url, keys, throttle)
    config = dataclasses.replace(
        make_config(db_url, keys),
        server=ServerConfig(realm=REALM, trusted_proxies=("127.0.0.0/8",)),
        throttle=throttle,
    )
    two = await start(aiohttp_client, config, keys)
    assert await statuses(one, ALICE, "guess", A, FREE + 1) == [401] * (FREE + 1)
    assert (await login(two, ALICE, ALICE_PW, A)).status == 429


async def test_the_audit_records_logins_throttling_and_tokens_without_secrets(tenv: Env) -> None:
    refresh = await refresh_token_for(tenv, ALICE, ALICE_PW)
    ok = await login(tenv, ALICE, ALICE_PW, B)
    token = (await ok.json())["token"]
    await statuses(tenv, ALICE, "wrong-secret", A, FREE + 2)
    await tenv.get(service="nope", headers={"X-Forwarded-For": C})
    await tenv.app[AUDIT].flush()
    async with store.transaction(tenv.app[SESSIONMAKER]) as session:
        rows = await store.list_audit_events(session)
    events = [r.event for r in rows]
    assert events.count("token_issued") == 2
    assert events.count("login_failed") == FREE + 1
    assert events.count("throttled") == 1
    assert events.count("token_refused") == 1
    issued = [r for r in rows if r.event == "token_issued"][1]
    assert issued.jti == tenv.decode(token)["jti"]
    assert (issued.subject, issued.address, issued.service) == (ALICE, B, "registry")
    assert (issued.requested, issued.granted) == (SCOPE, SCOPE)
    assert issued.rule.startswith(f"{SCOPE}=rule:")
    throttled = next(r for r in rows if r.event == "throttled")
    assert (throttled.subject, throttled.address) == (ALICE, A)
    text = repr(rows)
    for secret in (ALICE_PW, "wrong-secret", refresh, token, "Basic "):
        assert secret not in text


async def test_a_user_agent_that_is_not_utf8_is_audited_and_the_audit_goes_on(tenv: Env) -> None:
    # Raw header bytes, as a hostile or broken client sends them (aiohttp passes them on as lone
    # surrogates). Such a row once failed its batch in the driver and ended the writer task:
    # every later row was lost and shutdown waited forever.
    server = tenv.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    request = (
        f"GET /auth?service=registry&scope={SCOPE} HTTP/1.1\r\nHost: auth\r\n"
        f"Authorization: {basic(ALICE, ALICE_PW)['Authorization']}\r\n"
    ).encode() + b"User-Agent: evil\xff\xfe/1.0\r\nConnection: close\r\n\r\n"
    writer.write(request)
    assert (await reader.read()).startswith(b"HTTP/1.1 200")
    writer.close()
    await tenv.app[AUDIT].flush()
    assert (await login(tenv, ALICE, ALICE_PW, B)).status == 200
    await tenv.app[AUDIT].flush()
    async with store.transaction(tenv.app[SESSIONMAKER]) as session:
        rows = await store.list_audit_events(session)
    assert [r.event for r in rows] == ["token_issued", "token_issued"]
    assert rows[0].user_agent.startswith("evil\ufffd") and rows[0].user_agent.endswith("/1.0")
    assert tenv.app[AUDIT].dropped == 0
