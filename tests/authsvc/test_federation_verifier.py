"""The verified-token cache and the unverified issuer peek (authsvc.authn.federation)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from authsvc.authn.federation import (
    CachedIdTokenVerifier,
    TokenRefused,
    unverified_claims,
)


class CountingVerifier:
    """Answers from a table and counts the verifications."""

    def __init__(self, claims: dict[str, dict[str, Any]]) -> None:
        self.claims = claims
        self.calls = 0

    async def verify(self, token: str, issuer: str) -> dict[str, Any]:
        self.calls += 1
        if token not in self.claims:
            raise TokenRefused("bad")
        return self.claims[token]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_verified_claims_are_kept_until_ttl_or_exp() -> None:
    clock = Clock()
    inner = CountingVerifier({"a": {"exp": 1030}, "b": {"exp": 5000}})
    cached = CachedIdTokenVerifier(inner, ttl=60, clock=clock)
    for _ in range(3):
        assert await cached.verify("a", "https://i") == {"exp": 1030}
    assert inner.calls == 1
    clock.now = 1031  # past exp: verified again (and refused by the real verifier)
    await cached.verify("a", "https://i")
    assert inner.calls == 2
    await cached.verify("b", "https://i")
    clock.now += 59
    await cached.verify("b", "https://i")
    assert inner.calls == 3
    clock.now += 2  # past the cache's ttl
    await cached.verify("b", "https://i")
    assert inner.calls == 4
    # Refusals are not kept; another issuer is another entry.
    for _ in range(2):
        with pytest.raises(TokenRefused):
            await cached.verify("c", "https://i")
    await cached.verify("b", "https://other")
    assert inner.calls == 7


def _jws(payload: object) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "a..c",
        _jws(["x"]),
        _jws({"iss": 3}),
        _jws({}),
        "x." + "A" * 20000 + ".y",
    ],
)
def test_unverified_claims_refuses_what_is_not_a_jws(token: str) -> None:
    with pytest.raises(TokenRefused):
        unverified_claims(token)


def test_unverified_claims_reads_the_issuer() -> None:
    assert unverified_claims(_jws({"iss": "https://i", "sub": "x"}))["iss"] == "https://i"
