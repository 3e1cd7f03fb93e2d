"""A SQLite database that stops taking writes, or whose file goes away, under a running server.

A correct login must not fail on its bookkeeping write, and /readyz must say what logins and
admin changes would meet: not ready while writes fail or the file is gone.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, AiohttpClient, Env, start
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config


def sqlite_path(db_url: str) -> Path:
    parsed = make_url(db_url)
    if parsed.get_backend_name() != "sqlite":
        pytest.skip("SQLite file locking and file replacement")
    assert parsed.database
    return Path(parsed.database)


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process's view: a writer holding SQLite's write lock (as a long CLI change)."""
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def fresh_env(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    # No credential cache, so the login below is verified and wants its last-login write.
    env = await start(aiohttp_client, make_config(db_url, keys, cache_ttl=0), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull"])
    return env


async def test_a_login_succeeds_while_the_database_refuses_writes(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    path = sqlite_path(db_url)
    env = await fresh_env(aiohttp_client, db_url, keys)
    with write_locked(path):
        # The whole request runs while the lock is held: its last-login write cannot happen,
        # and the login is answered all the same.
        resp = await env.get(
            service="registry", scope="repository:alice/app:pull", headers=basic(ALICE, ALICE_PW)
        )
        assert resp.status == 200
        assert env.decode((await resp.json())["token"])["sub"] == ALICE
        ready = await env.client.get("/readyz")
        assert ready.status == 503
        assert ready.headers["Retry-After"] == "5"
    assert (await env.client.get("/readyz")).status == 200


async def test_readyz_notices_the_database_file_moved_away(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    path = sqlite_path(db_url)
    env = await fresh_env(aiohttp_client, db_url, keys)
    assert (await env.client.get("/readyz")).status == 200
    moved = path.with_name(path.name + ".moved")
    shutil.move(path, moved)
    resp = await env.client.get("/readyz")
    assert resp.status == 503
    assert "missing or was replaced" in (await resp.json())["errors"][0]["message"]
    shutil.move(moved, path)
    assert (await env.client.get("/readyz")).status == 200
