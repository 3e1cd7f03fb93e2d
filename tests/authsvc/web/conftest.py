"""Fixtures of the account-page tests: one OpenID provider per session, authsvc per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bench.procs import free_port
from tests.authsvc.tokenhelpers import KeyPair, make_keys
from tests.authsvc.web.support import SSO_USERS, WebEnv, serve, web_config
from tests.oidc_provider.launcher import OidcProvider, run_oidc_provider

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "account-page"


@pytest.fixture(scope="session")
def web_port() -> int:
    """authsvc's port for the whole session: the provider's redirect URI names it."""
    return free_port()


@pytest.fixture(scope="session")
def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory, web_port: int
) -> Iterator[OidcProvider]:
    """The real OpenID provider (node-oidc-provider over HTTPS), started once."""
    redirect = f"http://localhost:{web_port}/login/callback"
    with run_oidc_provider(
        tmp_path_factory.mktemp("oidc"), redirect_uris=[redirect], users=SSO_USERS
    ) as provider:
        yield provider


@pytest.fixture(scope="module")
def web_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(tmp_path_factory.mktemp("keys"), "ES256")


@pytest.fixture
async def web_env(
    db_url: str, web_keys: KeyPair, oidc_provider: OidcProvider, web_port: int
) -> AsyncIterator[WebEnv]:
    """authsvc with the account page and OIDC sign-in, on a fresh database."""
    config = web_config(db_url, web_keys, oidc_provider, web_port)
    async with serve(config, web_port, oidc_provider) as env:
        await env.seed.user("carol", "carol-local-pw")
        await env.seed.rule("*", "${account}/*", ["pull", "push"])
        yield env


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (git ignores it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
