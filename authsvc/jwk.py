"""Public signing keys as JWKs (RFC 7517/7518) and their RFC 7638 thumbprints: pure code.

Distribution 3 can trust token keys from a JWKS file (``auth.token.jwks``) instead of a
certificate bundle. It looks a token's ``kid`` up among the JWKS's ``kid`` members, so the kid
in tokens and in the file must be the same string: ``libtrust`` (what Distribution 2.8 matches
and authsvc's default) or ``thumbprint`` (RFC 7638, the form most JOSE tooling uses).
EC coordinates are written at the curve's full size (RFC 7518 §6.2.1.2: 32 bytes for P-256),
not trimmed of leading zeros; Distribution 3.0.0 computed EC thumbprints from trimmed
coordinates, which 3.1 fixed, so with 3.0.0 prefer the libtrust form.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any, Literal, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.libtrust import key_id

KidFormat = Literal["libtrust", "thumbprint"]
KID_FORMATS: tuple[KidFormat, ...] = ("libtrust", "thumbprint")
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

_CURVES = {"secp256r1": ("P-256", 32, "ES256")}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int, size: int | None = None) -> bytes:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return value.to_bytes(length, "big")


def public_members(key: PublicKey) -> dict[str, str]:
    """The required public members of the key's JWK (the input of its thumbprint)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv, size, _ = _CURVES[key.curve.name]
        numbers = key.public_numbers()
        return {
            "crv": crv,
            "kty": "EC",
            "x": _b64url(_uint(numbers.x, size)),
            "y": _b64url(_uint(numbers.y, size)),
        }
    numbers_rsa = key.public_numbers()
    return {"e": _b64url(_uint(numbers_rsa.e)), "kty": "RSA", "n": _b64url(_uint(numbers_rsa.n))}


def thumbprint(key: PublicKey) -> str:
    """RFC 7638: SHA-256 of the required members in lexicographic order, no white space."""
    canonical = json.dumps(public_members(key), sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def kid_of(key: PublicKey, kid_format: KidFormat) -> str:
    """The key ID in the configured form."""
    return key_id(key) if kid_format == "libtrust" else thumbprint(key)


def jwk(key: PublicKey, kid_format: KidFormat) -> dict[str, Any]:
    """The public JWK with ``kid``, ``alg`` and ``use`` (RFC 7517 §4)."""
    alg = _CURVES[key.curve.name][2] if isinstance(key, ec.EllipticCurvePublicKey) else "RS256"
    return {**public_members(key), "kid": kid_of(key, kid_format), "alg": alg, "use": "sig"}


def jwks(keys: list[PublicKey], kid_format: KidFormat) -> dict[str, Any]:
    """A JWK Set of ``keys``, each once, in the given order."""
    seen: set[str] = set()
    out = []
    for key in keys:
        entry = jwk(key, kid_format)
        if entry["kid"] not in seen:
            seen.add(entry["kid"])
            out.append(entry)
    return {"keys": out}


def published_jwks(
    active: object, certificates: Sequence[x509.Certificate], kid_format: str
) -> dict[str, Any]:
    """The JWKS a registry should trust: the active key, then the published certificates' keys.

    Keys of a type tokens cannot be signed with (not P-256 or RSA) are left out.
    """
    candidates = [active, *(cert.public_key() for cert in certificates)]
    keys: list[PublicKey] = [
        k
        for k in candidates
        if isinstance(k, rsa.RSAPublicKey)
        or (isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name in _CURVES)
    ]
    return jwks(keys, cast(KidFormat, kid_format))
