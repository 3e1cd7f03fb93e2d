"""The password-verification queue is bounded: a burst is shed with 429 before any argon2 work."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import pytest

from authsvc.config import PasswordConfig, ThrottleConfig
from authsvc.passwords import PasswordHasher
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, AiohttpClient, error_of, start
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config

QUEUE = 4


async def test_64_concurrent_unknown_users_are_shed_not_queued(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold every verification until all 64 requests are in, so the queue is really full.
    release = threading.Event()
    running = 0
    most = 0
    lock = threading.Lock()
    original = PasswordHasher.verify

    def held(self: PasswordHasher, password: str, stored: str | None) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(10)
        try:
            return original(self, password, stored)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(PasswordHasher, "verify", held)
    base = make_config(db_url, keys, cache_ttl=0)
    config = dataclasses.replace(
        base,
        passwords=dataclasses.replace(base.passwords, verify_queue=QUEUE, verify_threads=1),
        throttle=ThrottleConfig(free_attempts=0),
    )
    env = await start(aiohttp_client, config, keys)
    await env.seed.user(ALICE, ALICE_PW)

    async def attempt(i: int) -> Any:
        resp = await env.get(service="registry", headers=basic(f"ghost{i}", "guess"))
        return resp.status, resp.headers.get("Retry-After"), await resp.json()

    tasks = [asyncio.ensure_future(attempt(i)) for i in range(64)]
    # The shed ones answer at once, while the admitted ones are still held.
    done: set[asyncio.Future[Any]] = set()
    deadline = asyncio.get_running_loop().time() + 10
    while len(done) < 64 - QUEUE and asyncio.get_running_loop().time() < deadline:
        done, _ = await asyncio.wait(tasks, timeout=0.05)
    shed = [t.result() for t in done]
    assert len(shed) == 64 - QUEUE
    for status, retry_after, body in shed:
        assert status == 429 and retry_after == "1"
        assert error_of(body)["code"] == "TOOMANYREQUESTS"
    release.set()
    admitted = [await t for t in tasks if t not in done]
    assert [status for status, _, _ in admitted] == [401] * QUEUE
    assert most <= 1  # one verify thread: the rest waited in the bounded queue
    # Once the burst is over, a real user's uncached login goes straight through.
    resp = await env.get(service="registry", headers=basic(ALICE, ALICE_PW))
    assert resp.status == 200


def test_the_queue_bound_is_a_setting() -> None:
    assert PasswordConfig().verify_queue == 16
