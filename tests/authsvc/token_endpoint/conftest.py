"""Fixtures of the token-endpoint tests: a signing key per module and the app on a test database."""

from __future__ import annotations

import pytest

from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    BOB,
    BOB_PW,
    AiohttpClient,
    Env,
    start,
)
from tests.authsvc.tokenhelpers import KeyPair, make_config, make_keys


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(tmp_path_factory.mktemp("keys"), "ES256")


@pytest.fixture
async def env(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    """The app on a migrated, empty database (SQLite, and PostgreSQL when configured)."""
    env = await start(aiohttp_client, make_config(db_url, keys), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.user(BOB, BOB_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull", "push"])
    await env.seed.rule(ALICE, "shared/*", ["pull"])
    await env.seed.rule(ALICE, "localhost:5000/mirror/*", ["pull"])
    await env.seed.rule(ALICE, "catalog", ["*"], type="registry")
    await env.seed.rule("@anonymous", "public/*", ["pull"])
    await env.seed.rule("*", "everyone/*", ["pull"])
    return env
