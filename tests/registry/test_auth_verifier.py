"""TokenVerifier: key lookup, algorithm allow-list, claim checks, cache and challenges.

Tokens are built in the tests (tests/registry/auth_tokens.py) with keys generated once per
module; the same battery runs against the real Distribution in test_token_battery.py.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from registry.auth import (
    Access,
    AuthChallenge,
    KeyBundleError,
    Principal,
    TokenVerifier,
    TrustStore,
    required_access,
)
from registry.auth.jws import MalformedToken, b64url_decode, parse_token
from registry.auth.verifier import bearer_token
from tests.registry.auth_tokens import (
    ISSUER,
    REALM,
    REPO,
    SERVICE,
    Pki,
    bearer,
    claims,
    make_signer,
    make_token,
)
from tests.registry.fakes import FakeClock
from tests.registry.token_battery import Case, battery

PULL = required_access("GET", REPO)


def es256_token(pki: Pki, now: int, **overrides: object) -> str:
    """A token signed by the trusted ES256 key, header with kid and x5c."""
    es = pki.es256
    header = {"typ": "JWT", "alg": "ES256", "kid": es.kid, "x5c": es.x5c}
    return make_token(header, claims(now, **overrides), es.key)


def refusal(verifier: TokenVerifier, authorization: str | None, needed: list[Access]) -> str:
    """The challenge error of a refused request ("" when no error parameter)."""
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(authorization, needed)
    return info.value.error or ""


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


# --- key lookup ----------------------------------------------------------------------------


def test_good_es256_and_rs256_tokens(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    now = int(clock.now)
    rs = pki.rs256
    rs_token = make_token({"alg": "RS256", "kid": rs.kid}, claims(now, sub="bob"), rs.key)
    principal = verifier.authorize(bearer(es256_token(pki, now)), PULL)
    assert principal.subject == "alice"
    assert principal.expires_at == now + 300
    assert principal.allows(Access("repository", REPO, "pull"))
    assert not principal.allows(Access("repository", REPO, "push"))
    assert verifier.authorize(bearer(rs_token), PULL).subject == "bob"


def test_bundle_with_several_certificates_supports_rotation(
    pki: Pki, tmp_path: Path, clock: FakeClock
) -> None:
    old, new = pki.es256, make_signer("P-256", "rotated")
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"".join(s.cert.public_bytes(serialization.Encoding.PEM) for s in (old, new)))
    verifier = TokenVerifier(
        realm=REALM, service=SERVICE, issuer=ISSUER, rootcertbundle=path, clock=clock
    )
    assert set(verifier.trust.by_kid) == {old.kid, new.kid}
    for signer in (old, new):
        header = {"alg": "ES256", "kid": signer.kid, "x5c": signer.x5c}
        token = make_token(header, claims(int(clock.now)), signer.key)
        assert verifier.authorize(bearer(token), PULL).subject == "alice"


def test_wrong_kid_is_invalid_token(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    stranger = pki.stranger
    token = make_token({"alg": "ES256", "kid": stranger.kid}, claims(int(clock.now)), stranger.key)
    assert refusal(verifier, bearer(token), PULL) == "invalid_token"


def test_untrusted_x5c_wins_over_a_trusted_kid(
    verifier: TokenVerifier, pki: Pki, clock: FakeClock
) -> None:
    # Distribution tries x5c first and does not fall back to kid when the chain fails.
    header = {"alg": "ES256", "kid": pki.es256.kid, "x5c": pki.stranger.x5c}
    token = make_token(header, claims(int(clock.now)), pki.es256.key)
    assert refusal(verifier, bearer(token), []) == "invalid_token"


def test_x5c_chain_to_bundle_ca(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    chain = [*pki.issued.x5c, *pki.ca.x5c]
    token = make_token({"alg": "ES256", "x5c": chain}, claims(int(clock.now)), pki.issued.key)
    assert verifier.authorize(bearer(token), PULL).subject == "alice"


def test_x5c_chain_outside_validity(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    now = int(clock.now)
    chain = [*pki.issued.x5c, *pki.ca.x5c]
    body = claims(now, exp=now + 500 * 86400)
    token = make_token({"alg": "ES256", "x5c": chain}, body, pki.issued.key)
    kid_token = make_token({"alg": "ES256", "kid": pki.ca.kid}, body, pki.ca.key)
    clock.now += 400 * 86400  # past every certificate's notAfter, before the tokens' exp
    assert refusal(verifier, bearer(token), []) == "invalid_token"
    # A kid lookup ignores certificate validity, as in Distribution.
    assert verifier.authorize(bearer(kid_token), PULL).subject == "alice"


def test_jwk_lookup(verifier: TokenVerifier, pki: Pki, clock: FakeClock) -> None:
    now = int(clock.now)
    good = make_token({"alg": "ES256", "jwk": pki.es256.jwk()}, claims(now), pki.es256.key)
    bad = make_token({"alg": "ES256", "jwk": pki.stranger.jwk()}, claims(now), pki.stranger.key)
    not_object = make_token({"alg": "ES256", "jwk": "x"}, claims(now), pki.es256.key)
    assert verifier.authorize(bearer(good), PULL).subject == "alice"
    assert refusal(verifier, bearer(bad), PULL) == "invalid_token"
    assert refusal(verifier, bearer(not_object), PULL) == "invalid_token"


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


# --- challenge header ------------------------------------------------------------------------


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


# --- parsing helpers -------------------------------------------------------------------------


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


@pytest.mark.parametrize("segment", ["a", "ab*c", "ab c", "abcde", "YQ===", "+/+/"])
def test_b64url_is_strict(segment: str) -> None:
    with pytest.raises(MalformedToken):
        b64url_decode(segment)


def test_b64url_padding_is_optional() -> None:
    assert b64url_decode("YQ") == b"a"
    assert b64url_decode("YQ==") == b"a"
    assert b64url_decode("_-8") == b"\xff\xef"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30",
        "W10.e30.",
        "e30.W10.",
        "bnVsbA.e30.",
        "e30.eyJleHAiOk5hTn0.",
    ],
    ids=["empty", "two", "four", "no-sig-part", "header-array", "claims-array", "null", "nan"],
)
def test_parse_token_rejects_malformed(raw: str) -> None:
    with pytest.raises(MalformedToken):
        parse_token(raw)


def ed25519_certificate() -> x509.Certificate:
    """A self-signed Ed25519 certificate (a key type libtrust does not support)."""
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed25519")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, None)
    )


# --- bundle loading --------------------------------------------------------------------------


def test_bundle_errors(tmp_path: Path, pki: Pki) -> None:
    with pytest.raises(KeyBundleError, match="cannot read"):
        TrustStore.load(tmp_path / "missing.pem")
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificates here\n")
    with pytest.raises(KeyBundleError, match="no certificate"):
        TrustStore.load(empty)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(KeyBundleError, match="certificate #1"):
        TrustStore.load(broken)
    ed = tmp_path / "ed25519.pem"
    ed.write_bytes(ed25519_certificate().public_bytes(serialization.Encoding.PEM))
    with pytest.raises(KeyBundleError, match="unsupported key type"):
        TrustStore.load(ed)


def test_bundle_skips_other_pem_blocks(tmp_path: Path, pki: Pki) -> None:
    es = pki.es256
    key_pem = es.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "mixed.pem"
    path.write_bytes(b"comment\n" + key_pem + es.cert.public_bytes(serialization.Encoding.PEM))
    store = TrustStore.load(path)
    assert list(store.by_kid) == [es.kid]
    assert len(store.certificates) == 1


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
    assert token in verifier.cache
    ticks.now = 70.0  # exp + leeway - now, measured on the monotonic clock
    assert token not in verifier.cache
