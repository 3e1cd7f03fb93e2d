"""``auth.token.jwks``: Distribution 3's JWKS trust, fed by what ``authsvc keys jwks`` writes.

The three setups the token server supports, checked against this registry's verifier:
2.8-style bundle with x5c and a libtrust kid (test_auth_keys.py), 3.x with a bundle and x5c
(the same), and 3.x with a JWKS and kid-only tokens, in both kid forms (here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authsvc.jwk import jwks
from registry.auth.verifier import TokenVerifier
from registry.config import ConfigError, load_config
from tests.registry.auth_tokens import (
    ISSUER,
    PULL,
    REALM,
    SERVICE,
    Pki,
    bearer,
    claims,
    make_token,
)
from tests.registry.fakes import FakeClock


def verifier_for(
    tmp_path: Path, clock: FakeClock, *, bundle: Path | None, keyset: dict[str, Any]
) -> TokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keyset))
    return TokenVerifier(
        realm=REALM, service=SERVICE, issuer=ISSUER, rootcertbundle=bundle, jwks=path, clock=clock
    )


@pytest.mark.parametrize("kid_format", ["thumbprint", "libtrust"])
def test_kid_only_tokens_verify_against_the_jwks(
    pki: Pki, tmp_path: Path, clock: FakeClock, kid_format: str
) -> None:
    keyset = jwks([pki.es256.key.public_key(), pki.rs256.key.public_key()], kid_format)  # type: ignore[arg-type]
    verifier = verifier_for(tmp_path, clock, bundle=None, keyset=keyset)
    for signer, alg, entry in (
        (pki.es256, "ES256", keyset["keys"][0]),
        (pki.rs256, "RS256", keyset["keys"][1]),
    ):
        token = make_token({"alg": alg, "kid": entry["kid"]}, claims(int(clock.now)), signer.key)
        assert verifier.authorize(bearer(token), PULL).subject == "alice"


def test_without_a_bundle_x5c_tokens_are_refused(
    pki: Pki, tmp_path: Path, clock: FakeClock
) -> None:
    keyset = jwks([pki.es256.key.public_key()], "libtrust")  # type: ignore[arg-type]
    verifier = verifier_for(tmp_path, clock, bundle=None, keyset=keyset)
    es = pki.es256
    token = make_token(
        {"alg": "ES256", "kid": es.kid, "x5c": es.x5c}, claims(int(clock.now)), es.key
    )
    with pytest.raises(Exception, match="no rootcertbundle"):
        verifier.verify(token)


def test_unknown_kid_is_refused(pki: Pki, tmp_path: Path, clock: FakeClock) -> None:
    keyset = jwks([pki.rs256.key.public_key()], "thumbprint")  # type: ignore[arg-type]
    verifier = verifier_for(tmp_path, clock, bundle=None, keyset=keyset)
    token = make_token({"alg": "ES256", "kid": "nope"}, claims(int(clock.now)), pki.es256.key)
    with pytest.raises(Exception, match="untrusted key"):
        verifier.verify(token)


def test_bundle_and_jwks_together(pki: Pki, tmp_path: Path, clock: FakeClock, bundle: Path) -> None:
    keyset = jwks([pki.rs256.key.public_key()], "thumbprint")  # type: ignore[arg-type]
    verifier = verifier_for(tmp_path, clock, bundle=bundle, keyset=keyset)
    es = pki.es256
    header = {"alg": "ES256", "kid": es.kid, "x5c": es.x5c}
    x5c = make_token(header, claims(int(clock.now)), es.key)
    assert verifier.authorize(bearer(x5c), PULL).subject == "alice"
    kid = make_token(
        {"alg": "RS256", "kid": keyset["keys"][0]["kid"]}, claims(int(clock.now)), pki.rs256.key
    )
    assert verifier.authorize(bearer(kid), PULL).subject == "alice"


def test_config_needs_a_bundle_or_a_jwks(tmp_path: Path, pki: Pki) -> None:
    keyset = tmp_path / "jwks.json"
    keyset.write_text(json.dumps(jwks([pki.es256.key.public_key()], "libtrust")))  # type: ignore[arg-type]
    base = {
        "REGISTRY_AUTH_TOKEN_REALM": "https://auth",
        "REGISTRY_AUTH_TOKEN_SERVICE": "registry",
        "REGISTRY_AUTH_TOKEN_ISSUER": "authsvc",
    }
    config = load_config(None, {**base, "REGISTRY_AUTH_TOKEN_JWKS": str(keyset)})
    assert (
        config.auth is not None
        and config.auth.jwks == keyset
        and config.auth.rootcertbundle is None
    )
    with pytest.raises(ConfigError, match="rootcertbundle"):
        load_config(None, base)
