"""Fixtures shared by every test suite: the OpenID issuer that plays a CI system."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc_issuer import TestIssuer, run_test_issuer


@pytest.fixture(scope="session")
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestIssuer]:
    """One HTTPS OpenID issuer (test CA, discovery, JWKS, token minting) for the session."""
    with run_test_issuer(tmp_path_factory.mktemp("oidc-issuer")) as issuer:
        yield issuer
