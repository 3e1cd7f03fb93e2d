"""JWT signing: pure claims building and a signer that holds the loaded key (no PEM per sign)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from authsvc.authz.grants import AccessEntry
from authsvc.jwk import KidFormat, kid_of
from authsvc.keys import SigningMaterial

# docker_auth and Distribution's own test server back-date nbf to absorb clock skew.
NBF_SKEW = 10


def new_jti() -> str:
    """A random token ID with 144 bits of entropy (the contract asks for at least 128)."""
    return secrets.token_urlsafe(18)


def build_claims(
    *,
    issuer: str,
    subject: str | None,
    audience: str,
    access: Sequence[AccessEntry],
    now: int,
    ttl: int,
    jti: str,
) -> dict[str, Any]:
    """Build the JWT claims: integer times and ``aud`` as one string (distribution jwt.md)."""
    return {
        "iss": issuer,
        # An anonymous token has an empty subject, as Distribution's token server does.
        "sub": subject or "",
        "aud": audience,
        "exp": now + ttl,
        "nbf": now - NBF_SKEW,
        "iat": now,
        "jti": jti,
        "access": [entry.to_claim() for entry in access],
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class JwtSigner:
    """Signs claims with a loaded key; the JOSE header is encoded once, when it is built."""

    def __init__(
        self,
        material: SigningMaterial,
        *,
        header: str = "x5c",
        kid_format: KidFormat = "libtrust",
    ) -> None:
        """Precompute the JOSE header: ``kid``, and ``x5c`` (RFC 7515 §4.1.6) unless ``kid``.

        Distribution 3 tries an ``x5c`` chain first and rejects the token when it has no
        rootcertbundle to check it against, even if its JWKS holds the kid; ``header="kid"``
        is for that setup. The kid is libtrust's form (what 2.8 matches) or the RFC 7638
        thumbprint.
        """
        self._header_mode = header
        self._kid_format: KidFormat = kid_format
        self.use(material)

    def use(self, material: SigningMaterial) -> None:
        """Sign with ``material`` from now on (key rotation without a restart).

        Everything is built first and then assigned, with no await in between, so no token is
        ever signed with a mix of the old and the new key's header.
        """
        kid = kid_of(material.key.public_key(), self._kid_format)
        header: dict[str, Any] = {"typ": "JWT", "alg": material.alg, "kid": kid}
        if self._header_mode == "x5c":
            # Standard (not URL-safe) base64 of each DER certificate, leaf first.
            header["x5c"] = [
                base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")
                for cert in material.chain
            ]
        segment = _b64url(json.dumps(header, separators=(",", ":")).encode())
        algorithm = jwt.get_algorithm_by_name(material.alg)
        self.alg, self.kid, self.chain, self.header = material.alg, kid, material.chain, header
        self._key, self._algorithm, self._header_segment = material.key, algorithm, segment

    def public_key(self) -> Any:
        """The public half of the signing key, for verifying tokens in tests and tools."""
        return self._key.public_key()

    def sign(self, claims: Mapping[str, Any]) -> str:
        """Return the compact JWS. PyJWT's ES256 signer emits the 64-byte r||s form (RFC 7518)."""
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._header_segment}.{payload}".encode("ascii")
        signature = self._algorithm.sign(signing_input, self._key)
        return f"{self._header_segment}.{payload}.{_b64url(signature)}"
