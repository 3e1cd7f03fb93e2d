"""Fixtures of the LDAP tests: one real slapd per session, and the app wired to it.

``slapd`` is started once per test session (see slapd.py); a test that takes it down brings it
back before it ends. ``search_settings`` is the search-then-bind configuration with memberOf.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from authsvc.config import AuthConfig, Config, LdapConfig
from tests.authsvc.ldap.slapd import GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, Slapd
from tests.authsvc.tokenhelpers import KeyPair, make_config, make_keys
from tests.support import require_interop

if not require_interop():
    # CI (REQUIRE_INTEROP=1) installs the test extras, python-ldap among them: there a missing
    # module fails the run at the import below instead of skipping.
    pytest.importorskip("ldap", reason="python-ldap (the `ldap` extra) is not installed")
import ldap  # noqa: F401


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = Slapd.create(tmp_path_factory.mktemp("slapd"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def search_settings(slapd: Slapd) -> LdapConfig:
    """Search-then-bind with the service account; groups from memberOf."""
    return LdapConfig(
        url=slapd.url,
        bind_dn=SERVICE_DN,
        bind_password=SERVICE_PASSWORD,
        user_base=PEOPLE,
        group_attribute="memberOf",
        group_map=(("Platform Admins", "platform"),),
        connect_timeout=2,
        timeout=5,
    )


@pytest.fixture
def direct_settings(slapd: Slapd) -> LdapConfig:
    """Direct bind with a DN template over StartTLS; groups from a search."""
    return LdapConfig(
        url=slapd.url,
        start_tls=True,
        ca_file=slapd.ca_file,
        user_dn_template=f"uid={{username}},{PEOPLE}",
        group_base=GROUPS,
        connect_timeout=2,
        timeout=5,
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(tmp_path_factory.mktemp("keys"), "ES256")


def ldap_config(db_url: str, keys: KeyPair, settings: LdapConfig, **kwargs: int) -> Config:
    """The test configuration with the chain local,ldap."""
    config = make_config(db_url, keys, **kwargs)
    return dataclasses.replace(config, auth=AuthConfig(("local", "ldap")), ldap=settings)
