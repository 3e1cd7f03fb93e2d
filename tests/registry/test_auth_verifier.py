"""TokenVerifier: the battery in process, algorithm allow-list, claim checks and the cache.

Tokens are built by hand (auth_tokens.py); the same battery (token_battery.py) runs against
Debian's docker-registry and our `registry serve` in tests/interop/test_token_battery.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from registry.auth import (
    Access,
    AuthChallenge,
    Principal,
    TokenVerifier,
    TrustStore,
    required_access,
)
from registry.auth.verifier import bearer_token, token_key
from tests.registry.auth_tokens import (
    ISSUER,
    PULL,
    REALM,
    REPO,
    SERVICE,
    Pki,
    bearer,
    claims,
    es256_token,
    make_token,
    refusal,
)
from tests.registry.fakes import FakeClock
from tests.registry.token_battery import Case, battery


def decide(verifier: TokenVerifier, case: Case, needed: list[Access]) -> tuple[bool, str]:
    """(accepted, challenge error) for one battery case."""
    try:
        verifier.authorize(case.authorization or None, needed)
    except AuthChallenge as challenge:
        return False, challenge.error or ""
    return True, ""


# --- the battery, in process -------------------------------------------------------------


def test_battery_decisions(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    cases = battery(pki, int(clock.now))
    got = {c.name: (decide(verifier, c, []), decide(verifier, c, PULL)) for c in cases}
    expected = {
        c.name: ((c.base, c.expected_error(False)), (c.repo, c.expected_error(True))) for c in cases
    }
    assert got == expected
    assert len(cases) >= 50


# --- algorithms and signatures ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "signer", "sign_alg"),
    [
        ("ES384", "es256", "ES384"),  # right family, wrong curve
        ("ES256", "es384", "ES256"),
        ("ES256", "rs256", "RS256"),
        ("RS256", "es256", "ES256"),
        ("PS256", "rs256", "PS256"),
        ("none", "es256", "ES256"),
        ("", "es256", "ES256"),
    ],
)
def test_algorithm_must_fit_the_key(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, alg: str, signer: str, sign_alg: str
) -> None:
    s = getattr(pki, signer)
    token = make_token({"alg": alg, "kid": s.kid}, claims(int(clock.now)), s.key, sign_alg=sign_alg)
    assert refusal(verifier, bearer(token), []) == "invalid_token"


def test_alg_none_without_signature(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    token = make_token({"alg": "none", "kid": pki.es256.kid}, claims(int(clock.now)), None)
    assert token.endswith(".")
    assert refusal(verifier, bearer(token), []) == "invalid_token"


@pytest.mark.parametrize("signer", ["es256", "rs256"])
def test_hs256_keyed_with_the_public_key(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, signer: str
) -> None:
    # The classic confusion attack: HMAC with the verifier's public key as the secret.
    s = getattr(pki, signer)
    for secret in (s.public_pem(), s.public_pem().strip()):
        token = make_token(
            {"alg": "HS256", "kid": s.kid}, claims(int(clock.now)), None, hmac_secret=secret
        )
        assert refusal(verifier, bearer(token), []) == "invalid_token"


def test_der_encoded_es256_signature(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    es = pki.es256
    token = make_token({"alg": "ES256", "kid": es.kid}, claims(int(clock.now)), es.key, der=True)
    assert refusal(verifier, bearer(token), []) == "invalid_token"


# --- claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        ({"aud": [SERVICE]}, False),
        ({"aud": "other"}, False),
        ({"aud": None}, False),
        ({"iss": "other"}, False),
        ({"iss": ISSUER.upper()}, False),
        ({"exp": "soon"}, False),
        ({"exp": True}, False),
        ({"access": {"type": "repository"}}, False),
        ({"access": [{"type": "repository", "name": REPO, "actions": "pull"}]}, False),
        ({"sub": 5}, False),
        ({"jti": None, "iat": None, "nbf": None}, True),
    ],
)
def test_claim_types_and_values(
    verifier: TokenVerifier,
    pki: Pki,
    clock: FakeClock,
    overrides: dict[str, object],
    accepted: bool,
) -> None:
    token = bearer(es256_token(pki, int(clock.now), **overrides))
    if accepted:
        assert verifier.authorize(token, []).subject == "alice"
    else:
        assert refusal(verifier, token, []) == "invalid_token"


@pytest.mark.parametrize("member", ["exp", "nbf", "iat"])
def test_float_times_are_refused(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, member: str
) -> None:
    now = int(clock.now)
    value = {"exp": now + 300.0, "nbf": now - 10.0, "iat": float(now)}[member]
    token = es256_token(pki, now, **{member: value})
    assert refusal(verifier, bearer(token), []) == "invalid_token"


@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(1, True), (-59, True), (-60, True), (-61, False), (-3600, False)],
)
def test_exp_leeway(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, exp_offset: int, accepted: bool
) -> None:
    now = int(clock.now)
    token = bearer(es256_token(pki, now, exp=now + exp_offset, nbf=now - 600))
    if accepted:
        assert verifier.authorize(token, []).expires_at == now + exp_offset
    else:
        assert refusal(verifier, token, []) == "invalid_token"


@pytest.mark.parametrize(
    ("nbf_offset", "accepted"), [(0, True), (59, True), (60, True), (61, False), (3600, False)]
)
def test_nbf_leeway(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, nbf_offset: int, accepted: bool
) -> None:
    now = int(clock.now)
    token = bearer(es256_token(pki, now, nbf=now + nbf_offset, exp=now + 7200))
    if accepted:
        assert verifier.authorize(token, []).subject == "alice"
    else:
        assert refusal(verifier, token, []) == "invalid_token"


def test_missing_access_is_insufficient_scope(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    token = bearer(es256_token(pki, int(clock.now), access=None))
    assert verifier.authorize(token, []).access == {}
    assert refusal(verifier, token, PULL) == "insufficient_scope"
    assert refusal(verifier, token, required_access("GET", None, catalog=True)) == (
        "insufficient_scope"
    )


def test_wildcard_grant_covers_every_action(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    access = [
        {"type": "repository", "name": REPO, "actions": ["*"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]
    token = bearer(es256_token(pki, int(clock.now), access=access))
    for method in ("GET", "PUT", "DELETE"):
        verifier.authorize(token, required_access(method, REPO))
    verifier.authorize(token, required_access("GET", None, catalog=True))


# --- cache -----------------------------------------------------------------------------------


def test_tokens_with_the_same_access_claim_share_one_grants_map(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    now = int(clock.now)
    first = verifier.authorize(bearer(es256_token(pki, now, jti="a")), PULL)
    second = verifier.authorize(bearer(es256_token(pki, now, jti="b")), PULL)
    assert first is not second and first.access is second.access
    pushes = [{"type": "repository", "name": REPO, "actions": ["pull", "push"]}]
    third = verifier.authorize(bearer(es256_token(pki, now, jti="c", access=pushes)), PULL)
    assert third.access is not first.access
    assert third.allows(Access("repository", REPO, "push"))
    assert not first.allows(Access("repository", REPO, "push"))
    with pytest.raises(TypeError):
        first.access[("repository", "x")] = frozenset({"push"})  # type: ignore[index]


def test_cache_hit_skips_verification(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock, tmp_path: Path
) -> None:
    token = bearer(es256_token(pki, int(clock.now)))
    first = verifier.authorize(token, PULL)
    assert len(verifier.cache) == 1
    # Trust only a stranger now: a fresh verification would fail, the cached token does not.
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(pki.stranger.cert.public_bytes(serialization.Encoding.PEM))
    verifier.trust = TrustStore.load(stranger)
    assert verifier.authorize(token, PULL) is first
    # Access is still checked on every request, cached or not.
    assert refusal(verifier, token, required_access("PUT", REPO)) == "insufficient_scope"
    other = bearer(es256_token(pki, int(clock.now), sub="bob"))
    assert refusal(verifier, other, PULL) == "invalid_token"
    assert len(verifier.cache) == 1


def test_cache_entry_dropped_after_exp(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    now = int(clock.now)
    token = bearer(es256_token(pki, now, exp=now + 10))
    verifier.authorize(token, PULL)
    clock.now = now + 10 + 60  # exp + leeway: still valid
    verifier.authorize(token, PULL)
    clock.now = now + 10 + 61
    assert refusal(verifier, token, PULL) == "invalid_token"
    assert len(verifier.cache) == 0


def test_cache_is_bounded(bundle: Path, pki: Pki, clock: FakeClock) -> None:
    verifier = TokenVerifier(
        realm=REALM,
        service=SERVICE,
        issuer=ISSUER,
        rootcertbundle=bundle,
        cache_size=8,
        clock=clock,
        monotonic=clock,
    )
    tokens = [bearer(es256_token(pki, int(clock.now), sub=f"u{i}")) for i in range(30)]
    for token in tokens:
        verifier.authorize(token, PULL)
        assert len(verifier.cache) <= 8
    # The newest token is cached, evicted ones still verify (and are cached again).
    assert verifier.authorize(tokens[-1], PULL).subject == "u29"
    assert verifier.authorize(tokens[0], PULL).subject == "u0"


def test_rejected_tokens_are_not_cached(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    token = bearer(es256_token(pki, int(clock.now), aud="other"))
    assert refusal(verifier, token, []) == "invalid_token"
    assert len(verifier.cache) == 0


def test_principal_is_returned_for_base_route(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    principal = verifier.authorize(bearer(es256_token(pki, int(clock.now), sub="")), [])
    assert principal == Principal(
        subject="", access=principal.access, expires_at=int(clock.now) + 300
    )


def test_cache_lifetime_is_exp_plus_leeway_on_the_monotonic_clock(
    bundle: Path, pki: Pki, clock: FakeClock
) -> None:
    ticks = FakeClock(0.0)
    verifier = TokenVerifier(
        realm=REALM,
        service=SERVICE,
        issuer=ISSUER,
        rootcertbundle=bundle,
        clock=clock,
        monotonic=ticks,
    )
    now = int(clock.now)
    token = es256_token(pki, now, exp=now + 10)
    verifier.authorize(bearer(token), PULL)
    ticks.now = 69.0
    assert token_key(token) in verifier.cache
    ticks.now = 70.0  # exp + leeway - now, measured on the monotonic clock
    assert token_key(token) not in verifier.cache


# --- the Authorization header ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BeArEr abc", "abc"),
        ("Bearer  abc", None),
        ("Bearer abc def", None),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        (" Bearer abc ", "abc"),
    ],
)
def test_bearer_token(value: str | None, token: str | None) -> None:
    assert bearer_token(value) == token
