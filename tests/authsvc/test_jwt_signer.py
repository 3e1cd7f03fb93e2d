"""Token claims (pure) and signing: ES256/RS256 round trips, the JOSE header, raw ECDSA form."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from authsvc.authz.grants import AccessEntry
from authsvc.jwt_signer import NBF_SKEW, JwtSigner, build_claims, new_jti
from authsvc.keys import (
    Algorithm,
    SigningMaterial,
    generate_key,
    load_signing_material,
    self_signed_certificate,
    write_key_pair,
)

NOW = 1_700_000_000


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def material(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SigningMaterial:
    alg: Algorithm = request.param
    directory = tmp_path_factory.mktemp(alg)
    key = generate_key(alg)
    key_path, cert_path = write_key_pair(directory, key, self_signed_certificate(key))
    return load_signing_material(key_path, cert_path)


def b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def claims(**overrides: object) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "issuer": "authsvc",
        "subject": "alice",
        "audience": "registry",
        "access": [AccessEntry("repository", "alice/app", ("pull", "push"))],
        "now": NOW,
        "ttl": 300,
        "jti": "fixed-jti",
    }
    kwargs.update(overrides)
    return build_claims(**kwargs)  # type: ignore[arg-type]


def test_build_claims_shape() -> None:
    assert claims() == {
        "iss": "authsvc",
        "sub": "alice",
        "aud": "registry",
        "exp": NOW + 300,
        "nbf": NOW - NBF_SKEW,
        "iat": NOW,
        "jti": "fixed-jti",
        "access": [{"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}],
    }


def test_build_claims_anonymous_and_empty_access() -> None:
    result = claims(subject=None, access=[])
    assert result["sub"] == ""
    assert result["access"] == []
    assert all(isinstance(result[k], int) for k in ("exp", "nbf", "iat"))
    assert isinstance(result["aud"], str)


def test_jti_is_random_and_long() -> None:
    ids = {new_jti() for _ in range(100)}
    assert len(ids) == 100
    # 18 random bytes -> 24 URL-safe characters: 144 bits >= the 128 the contract asks for.
    assert all(len(b64url_decode(i)) == 18 for i in ids)


def test_round_trip(material: SigningMaterial) -> None:
    signer = JwtSigner(material)
    token = signer.sign(claims(now=NOW))
    decoded = jwt.decode(
        token,
        material.key.public_key(),
        algorithms=[material.alg],
        audience="registry",
        issuer="authsvc",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert decoded == claims(now=NOW)


def test_header(material: SigningMaterial) -> None:
    token = JwtSigner(material).sign(claims())
    header = jwt.get_unverified_header(token)
    assert set(header) == {"typ", "alg", "kid", "x5c"}
    assert header["typ"] == "JWT"
    assert header["alg"] == material.alg
    assert header["kid"] == material.kid
    # x5c is standard base64 of DER (RFC 7515 §4.1.6), leaf first.
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert leaf == material.chain[0]


def test_wrong_audience_or_key_fails(material: SigningMaterial) -> None:
    token = JwtSigner(material).sign(claims())
    options: Any = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            token,
            material.key.public_key(),
            algorithms=[material.alg],
            audience="other",
            options=options,
        )
    other = generate_key(material.alg)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            other.public_key(),
            algorithms=[material.alg],
            audience="registry",
            options=options,
        )


def test_es256_signature_is_raw_r_s(tmp_path: Path) -> None:
    key = generate_key("ES256")
    paths = write_key_pair(tmp_path, key, self_signed_certificate(key))
    token = JwtSigner(load_signing_material(*paths)).sign(claims())
    header, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    # RFC 7518 §3.4: 64 bytes, r then s, each 32 bytes big-endian; not DER.
    assert len(raw) == 64
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    key.public_key().verify(
        encode_dss_signature(r, s), f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256())
    )
    assert json.loads(b64url_decode(payload))["aud"] == "registry"
