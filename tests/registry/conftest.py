"""Fixtures of the registry tests: app clients, stores over every driver, the token verifier.

Plain helpers (push helpers, token builders, the in-memory driver) live in modules that tests
import; fixtures live here, where pytest finds them without imports.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from registry.app import create_app
from registry.auth import TokenVerifier
from registry.config import Config
from registry.storage import Storage
from registry.storage.driver import StorageDriver
from registry.storage.s3 import S3Driver
from tests.registry.api_support import Client, ClientFactory, registry_config
from tests.registry.auth_tokens import ISSUER, REALM, SERVICE, Pki
from tests.registry.fakes import FakeClock
from tests.registry.inmemory_driver import InMemoryDriver

# --- the app over aiohttp's test client ------------------------------------------------------


@pytest.fixture
def make_client(aiohttp_client: Any, tmp_path: Path) -> ClientFactory:
    """Factory: a client for create_app(config); defaults to a fresh tmp_path root."""

    async def factory(config: Config | None = None, **storage: Any) -> Client:
        cfg = config or registry_config(tmp_path / "root", **storage)
        client: Client = await aiohttp_client(create_app(cfg))
        return client

    return factory


@pytest.fixture
async def client(make_client: ClientFactory) -> Client:
    """A client for a registry with deletes enabled, over an empty root."""
    return await make_client()


# --- stores ----------------------------------------------------------------------------------


@pytest.fixture(params=["filesystem", "inmemory", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """The Storage facade over each driver (the stores must not depend on which)."""
    driver: StorageDriver | None = None
    if request.param == "inmemory":
        driver = InMemoryDriver()
    elif request.param == "s3":
        driver = S3Driver(request.getfixturevalue("s3_settings"))
    st = Storage(tmp_path / "root", driver=driver, delete_enabled=True)
    yield st
    await st.aclose()


@pytest.fixture
async def fs_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """The Storage facade over the filesystem driver only (for local-file features)."""
    st = Storage(tmp_path / "root", delete_enabled=True)
    yield st
    await st.aclose()


# --- token verification ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def pki() -> Pki:
    """Every key and certificate the auth tests use, generated once per run."""
    return Pki.generate()


@pytest.fixture(scope="session")
def bundle(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rootcertbundle trusting the battery's keys."""
    return pki.write_bundle(tmp_path_factory.mktemp("auth") / "bundle.pem")


@pytest.fixture
def clock() -> FakeClock:
    """A settable clock starting at the current second."""
    return FakeClock(float(int(time.time())))


@pytest.fixture
def verifier(bundle: Path, clock: FakeClock) -> TokenVerifier:
    """A verifier over the bundle; one fake clock is its wall clock and its cache's clock."""
    return TokenVerifier(
        realm=REALM,
        service=SERVICE,
        issuer=ISSUER,
        rootcertbundle=bundle,
        clock=clock,
        monotonic=clock,
    )
