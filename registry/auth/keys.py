"""Trusted token-signing keys: the rootcertbundle, and key lookup by kid, x5c or jwk.

Mirrors Distribution 2.8 (registry/auth/token/accesscontroller.go `newAccessController`,
token.go `VerifySigningKey`): every CERTIFICATE block of the bundle is a root for x5c
chains, and its public key is a trusted key under its libtrust key ID. Keys are loaded once
into `cryptography` objects, never re-parsed per request.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from registry.auth.chain import ChainError, RootPool
from registry.auth.libtrust import key_id

VerifyKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# The curves libtrust supports (ec_key.go); each fixes its JWS algorithm (RFC 7518 §3.4).
_CURVES: Mapping[str, str] = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"
# JWK members that only a private key has (RFC 7518 §6.2.2, §6.3.2): ignored, as libtrust's
# UnmarshalPublicKeyJWK reads only the public members.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth"})


class KeyBundleError(ValueError):
    """The rootcertbundle cannot be used (unreadable, no certificate, unsupported key)."""


class UntrustedKey(Exception):
    """No trusted key could be found for a token header."""


def supported_key(public_key: object) -> VerifyKey:
    """Return the key if libtrust supports it (RSA, EC P-256/384/521), else raise ValueError."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name in _CURVES:
        return public_key
    raise ValueError(f"unsupported key type {type(public_key).__name__}")


def _pem_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    """Every CERTIFICATE block of a PEM file; other blocks are skipped as Go's pem loop does."""
    certs: list[x509.Certificate] = []
    start = data.find(_PEM_BEGIN)
    while start != -1:
        end = data.find(_PEM_END, start)
        if end == -1:
            raise KeyBundleError(f"{source}: unterminated CERTIFICATE block")
        block = data[start : end + len(_PEM_END)]
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise KeyBundleError(f"{source}: certificate #{len(certs) + 1}: {exc}") from None
        start = data.find(_PEM_BEGIN, end)
    return certs


class TrustStore:
    """The bundle's certificates (x5c roots) and their keys by libtrust key ID."""

    def __init__(self, certificates: Sequence[x509.Certificate]) -> None:
        if not certificates:
            # Distribution refuses to start too: "token auth requires at least one token
            # signing key".
            raise KeyBundleError("the rootcertbundle holds no certificate")
        self.certificates = tuple(certificates)
        self.roots = RootPool(self.certificates)
        self.by_kid: dict[str, VerifyKey] = {}
        for index, cert in enumerate(self.certificates, start=1):
            try:
                key = supported_key(cert.public_key())
            except ValueError as exc:
                raise KeyBundleError(f"certificate #{index} ({cert.subject}): {exc}") from None
            self.by_kid[key_id(key)] = key

    @classmethod
    def load(cls, path: Path) -> TrustStore:
        """Read a PEM bundle that may hold several certificates (key rotation)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyBundleError(f"cannot read rootcertbundle {path}: {exc.strerror}") from None
        return cls(_pem_certificates(data, str(path)))

    def key_for_kid(self, kid: str) -> VerifyKey:
        """The bundle key whose libtrust ID is `kid`."""
        key = self.by_kid.get(kid)
        if key is None:
            raise UntrustedKey(f"token signed by untrusted key with ID {kid!r}")
        return key

    def key_for_x5c(self, x5c: Sequence[str], now: datetime) -> VerifyKey:
        """The leaf key of an x5c chain (RFC 7515 §4.1.6) that verifies up to the bundle."""
        chain: list[x509.Certificate] = []
        for index, item in enumerate(x5c):
            try:
                # x5c holds standard base64 (not base64url) DER, padding included.
                chain.append(x509.load_der_x509_certificate(base64.b64decode(item, validate=True)))
            except (binascii.Error, ValueError):
                raise UntrustedKey(f"x5c[{index}] is not a base64 DER certificate") from None
        try:
            leaf = self.roots.verify(chain, now)
            return supported_key(leaf.public_key())
        except (ChainError, ValueError) as exc:
            raise UntrustedKey(f"x5c: {exc}") from None

    def key_for_jwk(self, jwk: object, now: datetime) -> VerifyKey:
        """The key of a `jwk` header (RFC 7515 §4.1.3): a bundle key, or one with a good x5c."""
        if not isinstance(jwk, dict):
            raise UntrustedKey("jwk header is not a JSON object")
        key = _key_from_jwk(jwk)
        kid = key_id(key)
        # libtrust: an optional "kid" member must be the key's own ID.
        if "kid" in jwk and jwk["kid"] != kid:
            raise UntrustedKey("jwk kid does not match the key")
        x5c = jwk.get("x5c")
        if not isinstance(x5c, list):
            trusted = self.by_kid.get(kid)
            if trusted is None:
                raise UntrustedKey("untrusted jwk with no certificate chain")
            return trusted
        if not all(isinstance(item, str) and item for item in x5c):
            raise UntrustedKey("jwk x5c is malformed")
        leaf_key = self.key_for_x5c(x5c, now)
        if key_id(leaf_key) != kid:
            raise UntrustedKey("leaf certificate key does not match the jwk")
        return leaf_key


def _key_from_jwk(jwk: dict[str, Any]) -> VerifyKey:
    """Parse the public members of an EC or RSA JWK (RFC 7518 §6.2.1, §6.3.1)."""
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_JWK_MEMBERS}
    try:
        match public.get("kty"):
            case "EC":
                parsed: object = ECAlgorithm.from_jwk(public)
            case "RSA":
                parsed = RSAAlgorithm.from_jwk(public)
            case other:
                raise UntrustedKey(f"unsupported jwk kty {other!r}")
        return supported_key(parsed)
    except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise UntrustedKey(f"unable to decode jwk: {exc}") from None


def load_jwks(path: Path) -> dict[str, VerifyKey]:
    """Keys by ``kid`` from a JWK Set file (Distribution 3's ``auth.token.jwks``).

    Each key must carry a ``kid`` (tokens name their key by it, matched as a plain string);
    private members are ignored. A file that cannot be used is a configuration error.
    """
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise KeyBundleError(f"cannot read jwks {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise KeyBundleError(f"jwks {path}: not JSON: {exc}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise KeyBundleError(f"jwks {path}: no keys")
    keys: dict[str, VerifyKey] = {}
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            raise KeyBundleError(f"jwks {path}: key #{index} has no kid")
        try:
            keys[entry["kid"]] = _key_from_jwk(entry)
        except UntrustedKey as exc:
            raise KeyBundleError(f"jwks {path}: key #{index}: {exc}") from None
    return keys
