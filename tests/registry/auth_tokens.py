"""Test support for registry auth: generated keys and certificates, hand-built JWS tokens.

Tokens are assembled by hand (not with PyJWT's encoder) so that tests can produce what a
correct signer never would: float times, an `aud` list, DER ECDSA signatures, `alg: none`,
HMAC keyed with the public key, and so on.  The battery of such tokens is token_battery.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from registry.auth import Access, AuthChallenge, TokenVerifier, required_access
from registry.auth.libtrust import key_id

ISSUER = "battery-issuer"
SERVICE = "battery.registry"
REALM = "https://auth.invalid/token"
REPO = "battery/app"
# What GET of a REPO resource requires.
PULL = required_access("GET", REPO)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_CURVES: Mapping[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}


def new_key(kind: str) -> PrivateKey:
    """A fresh private key: "P-256", "P-384", "P-521" or "RSA" (2048 bits)."""
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(_CURVES[kind])


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def certificate(
    key: PrivateKey,
    cn: str,
    *,
    issuer: Signer | None = None,
    ca: bool = False,
    days: tuple[int, int] = (-1, 365),
) -> x509.Certificate:
    """A certificate for key, self-signed unless `issuer` is given; `days` = validity window."""
    now = dt.datetime.now(dt.UTC)
    signer_key: PrivateKey = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else _name(cn)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signer_key, hashes.SHA256())


@dataclass(frozen=True)
class Signer:
    """A private key, its certificate and its libtrust key ID."""

    key: PrivateKey
    cert: x509.Certificate

    @property
    def kid(self) -> str:
        """libtrust key ID of the public key."""
        return key_id(self.key.public_key())

    @property
    def x5c(self) -> list[str]:
        """The x5c header value for this certificate alone."""
        return [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]

    def public_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM of the public key (the HMAC-confusion secret)."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        """The public JWK (RFC 7518 §6) of the key."""
        pub = self.key.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            nums = pub.public_numbers()
            return {"kty": "RSA", "n": b64int(nums.n), "e": b64int(nums.e)}
        enc = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64url(enc.x.to_bytes(size, "big")),
            "y": b64url(enc.y.to_bytes(size, "big")),
        }


def make_signer(kind: str, cn: str, **cert_args: Any) -> Signer:
    """A new key of `kind` with a certificate (see `certificate`)."""
    key = new_key(kind)
    return Signer(key, certificate(key, cn, **cert_args))


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64int(value: int) -> str:
    """A JWK integer: big-endian, minimal length, base64url."""
    return b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def sign(key: PrivateKey, alg: str, data: bytes, *, der: bool = False) -> bytes:
    """Sign as JWS `alg` would with key; ES* give raw r||s unless `der` (the bad form)."""
    hash_cls = _HASHES[alg[2:]]
    if isinstance(key, rsa.RSAPrivateKey):
        if alg.startswith("PS"):
            pss = padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=padding.PSS.DIGEST_LENGTH)
            return key.sign(data, pss, hash_cls())
        return key.sign(data, padding.PKCS1v15(), hash_cls())
    signature = key.sign(data, ec.ECDSA(hash_cls()))
    if der:
        return signature
    r, s = decode_dss_signature(signature)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def claims(now: int, **overrides: Any) -> dict[str, Any]:
    """A valid claim set for REPO pull; keyword overrides replace members, None removes one."""
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": secrets.token_hex(16),
        "access": [{"type": "repository", "name": REPO, "actions": ["pull"]}],
    }
    for member, value in overrides.items():
        if value is None:
            body.pop(member, None)
        else:
            body[member] = value
    return body


def make_token(
    header: Mapping[str, Any],
    body: Mapping[str, Any] | str,
    key: PrivateKey | None,
    *,
    sign_alg: str | None = None,
    der: bool = False,
    hmac_secret: bytes | None = None,
) -> str:
    """Assemble header.claims.signature; `body` may be raw JSON text (e.g. with 1.5e9)."""
    text = body if isinstance(body, str) else json.dumps(body)
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(text.encode())}".encode()
    alg = sign_alg or str(header.get("alg"))
    if hmac_secret is not None:
        signature = hmac.new(hmac_secret, signing_input, hashlib.sha256).digest()
    elif key is None:
        signature = b""
    else:
        signature = sign(key, alg, signing_input, der=der)
    return f"{signing_input.decode()}.{b64url(signature)}"


@dataclass(frozen=True)
class Pki:
    """Every key and certificate the battery needs; `bundle` is the trusted set."""

    es256: Signer  # the current ES256 key (trusted)
    rs256: Signer  # an RSA key (trusted; a second bundle cert, as during rotation)
    es384: Signer
    es512: Signer
    ca: Signer  # a trusted CA that issues `issued`
    issued: Signer  # leaf signed by `ca`, NOT in the bundle
    expired: Signer  # trusted, but its certificate has expired
    stranger: Signer  # self-signed, untrusted
    by_leaf: Signer  # leaf "issued" by es256's non-CA certificate

    @classmethod
    def generate(cls) -> Pki:
        """Generate all keys (one RSA key generation; P-curves are fast)."""
        ca = make_signer("P-256", "battery CA", ca=True)
        es256 = make_signer("P-256", "battery ES256")
        issued_key = new_key("P-256")
        by_leaf_key = new_key("P-256")
        return cls(
            es256=es256,
            rs256=make_signer("RSA", "battery RS256"),
            es384=make_signer("P-384", "battery ES384"),
            es512=make_signer("P-521", "battery ES512"),
            ca=ca,
            issued=Signer(issued_key, certificate(issued_key, "issued leaf", issuer=ca)),
            expired=make_signer("P-256", "battery expired", days=(-30, -1)),
            stranger=make_signer("P-256", "stranger"),
            by_leaf=Signer(by_leaf_key, certificate(by_leaf_key, "by leaf", issuer=es256)),
        )

    def write_bundle(self, path: Path) -> Path:
        """Write the rootcertbundle: several certificates, in PEM."""
        trusted = [self.es256, self.rs256, self.es384, self.es512, self.ca, self.expired]
        path.write_bytes(b"".join(s.cert.public_bytes(serialization.Encoding.PEM) for s in trusted))
        return path


def bearer(token: str) -> str:
    """An Authorization header value for a token."""
    return f"Bearer {token}"


def es256_token(pki: Pki, now: int, **overrides: object) -> str:
    """A token signed by the trusted ES256 key of pki, header with kid and x5c."""
    es = pki.es256
    header = {"typ": "JWT", "alg": "ES256", "kid": es.kid, "x5c": es.x5c}
    return make_token(header, claims(now, **overrides), es.key)


def refusal(verifier: TokenVerifier, authorization: str | None, needed: list[Access]) -> str:
    """The challenge error of a refused request ("" when no error parameter)."""
    with pytest.raises(AuthChallenge) as info:
        verifier.authorize(authorization, needed)
    return info.value.error or ""
