"""The WWW-Authenticate: Bearer challenge of a refused request (RFC 6750 §3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.auth import AuthChallenge, TokenVerifier, required_access
from tests.registry.auth_tokens import ISSUER, PULL, REALM, REPO, SERVICE, Pki, bearer, es256_token
from tests.registry.fakes import FakeClock


def test_challenge_without_token_has_no_error(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(None, PULL)
    assert info.value.header() == (
        f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:{REPO}:pull"'
    )
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize("Basic dXNlcjpwYXNz", [])
    assert info.value.header() == f'Bearer realm="{REALM}",service="{SERVICE}"'


def test_challenge_invalid_token(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize("Bearer a.b.c", required_access("PATCH", REPO))
    assert info.value.header() == (
        f'Bearer realm="{REALM}",service="{SERVICE}",'
        f'scope="repository:{REPO}:pull,push",error="invalid_token"'
    )


def test_challenge_insufficient_scope(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    token = bearer(es256_token(pki, int(clock.now)))
    needed = [*required_access("POST", "team/dst"), *required_access("GET", REPO)]
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(token, needed)
    assert info.value.error == "insufficient_scope"
    assert info.value.header() == (
        f'Bearer realm="{REALM}",service="{SERVICE}",'
        f'scope="repository:team/dst:pull,push repository:{REPO}:pull",'
        'error="insufficient_scope"'
    )
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(token, required_access("GET", None, catalog=True))
    assert 'scope="registry:catalog:*"' in info.value.header()


def test_challenge_quotes_values(bundle: Path) -> None:
    verifier = TokenVerifier(
        realm='https://a/"x"\\', service="svc", issuer=ISSUER, rootcertbundle=bundle
    )
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(None, [])
    assert info.value.header() == 'Bearer realm="https://a/\\"x\\"\\\\",service="svc"'
