"""Fixtures of the API tests: the app on a test database with two users."""

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
    env = await start(aiohttp_client, make_config(db_url, keys), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.user(BOB, BOB_PW)
    await env.seed.rule("*", "${account}/*", ["pull", "push"])
    return env
