"""The test OpenID provider itself: discovery over HTTPS with the test CA, and its signing keys.

The sign-in tests rely on this peer; this checks the fixture, so that a broken install shows up
as one clear failure here rather than as confusing sign-in failures.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.oidc_provider.launcher import run_oidc_provider


def test_discovery_and_keys_over_https(tmp_path: Path) -> None:
    users = {"alice": {"password": "pw", "claims": {"preferred_username": "alice"}}}
    with run_oidc_provider(
        tmp_path, redirect_uris=["http://127.0.0.1:1/callback"], users=users
    ) as provider:
        context = provider.ssl_context()
        url = f"{provider.issuer}/.well-known/openid-configuration"
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            discovery = json.load(response)
        assert discovery["issuer"] == provider.issuer
        assert "S256" in discovery["code_challenge_methods_supported"]
        assert discovery["authorization_response_iss_parameter_supported"] is True
        with urllib.request.urlopen(discovery["jwks_uri"], context=context, timeout=5) as response:
            keys = json.load(response)["keys"]
        assert {key["alg"] for key in keys} == {"RS256", "ES256"}
        assert all("d" not in key for key in keys)  # public halves only
        # A client that does not trust the test CA refuses the provider's certificate.
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, context=ssl.create_default_context(), timeout=5)
