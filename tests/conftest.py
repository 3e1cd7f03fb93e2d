"""Fixtures shared by every test directory: the OpenID issuer that plays a CI system, and the
S3 server (moto) the S3 storage tests run against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oidc_issuer import TestIssuer, run_test_issuer
from tests.s3support import s3_server, s3_settings

__all__ = ["oidc_issuer", "s3_server", "s3_settings"]


@pytest.fixture(scope="session")
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestIssuer]:
    """One HTTPS OpenID issuer (test CA, discovery, JWKS, token minting) for the session."""
    with run_test_issuer(tmp_path_factory.mktemp("oidc-issuer")) as issuer:
        yield issuer
