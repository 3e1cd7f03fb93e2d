"""Signing-key lookup (x5c, then jwk, then kid) and loading the rootcertbundle."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from registry.auth import Access, KeyBundleError, TokenVerifier, TrustStore
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
    make_signer,
    make_token,
    refusal,
)
from tests.registry.fakes import FakeClock

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
