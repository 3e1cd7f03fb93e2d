"""Workload identity federation: an OpenID Connect ID token from a CI system logs in.

The token arrives as the Basic password of the user ``oidc`` (``docker login -u oidc
--password-stdin``, which every client can do) or as the subject token of an RFC 8693 token
exchange on ``POST /auth``. Verification, in this order:

1. the unverified ``iss`` selects the trusts of that issuer; none means the token is refused
   before any network request, so a token from anywhere costs nothing;
2. the issuer's discovery document and JWKS (``authsvc.oidc_provider``, over HTTPS, cached,
   refetched on an unknown ``kid`` at most every 30 s) check the signature, with asymmetric
   algorithms only: never ``none``, never HMAC (RFC 8725 §3.1);
3. ``iss`` exactly, ``exp`` and ``iat`` present, and ``exp``/``nbf``/``iat`` within a 60 s
   leeway (RFC 7519 §4.1, OpenID Connect Core §3.1.3.7);
4. the first trust whose audience is in ``aud`` and whose claim conditions all match decides
   (``authsvc.trusts``): the identity is ``oidc:TRUST`` with the trust's grants as its whole
   policy. No refresh token is ever issued for it (its kind is ``ID_TOKEN``, not a password).

An issuer that cannot be reached raises ``BackendUnavailable``: the client gets 503 with
Retry-After and no token, never a grant and never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import JoseError

from authsvc.authn.types import (
    Authenticated,
    AuthResult,
    BackendUnavailable,
    CredentialKind,
    Credentials,
    Federation,
    Identity,
    NotMine,
    WrongCredentials,
)
from authsvc.oidc_provider import (
    LEEWAY,
    ProviderDocuments,
    ProviderUnavailable,
    SignatureInvalid,
    tls_verify,
)
from authsvc.trust_service import TrustService
from authsvc.trusts import BASIC_USERNAME, Trust, first_match, mismatches
from svckit.cache import Cache

# ID tokens are a few kilobytes (GitHub's are about 1.5 KB); bound the work on hostile input.
MAX_TOKEN_LENGTH = 16 * 1024
# A verified token's claims are remembered this long at most (and never past its exp): a CI job
# sends the same token for every pull and push, and each would otherwise verify a signature.
VERIFIED_TTL = 60.0
NOT_AN_ID_TOKEN = "the password of user 'oidc' must be an OpenID Connect ID token"
NO_TRUST_FOR_ISSUER = "no trust accepts ID tokens from this issuer"
NO_TRUST_MATCHES = "no trust matches this ID token's audience and claims"


class TokenRefused(Exception):
    """The ID token failed verification; the message is safe to show and holds no token."""


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified: only to find the issuer whose keys verify it."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN_LENGTH or len(parts) != 3 or not all(parts):
        raise TokenRefused(NOT_AN_ID_TOKEN)
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        raise TokenRefused(NOT_AN_ID_TOKEN) from None
    if not isinstance(claims, dict) or not isinstance(claims.get("iss"), str):
        raise TokenRefused(NOT_AN_ID_TOKEN)
    return claims


class IdTokenVerifier:
    """Verifies ID tokens of any trusted issuer: signature, ``iss`` and the time claims."""

    def __init__(
        self,
        *,
        ca_file: Path | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Fetch issuers' documents trusting ``ca_file`` (the system store when None)."""
        self._verify = tls_verify(ca_file)
        self._timeout = timeout
        self._clock = clock
        # One entry per issuer that some trust names: tokens from other issuers never get here.
        self._providers: dict[str, ProviderDocuments] = {}

    def provider(self, issuer: str) -> ProviderDocuments:
        """The (cached) documents of ``issuer``."""
        documents = self._providers.get(issuer)
        if documents is None:
            documents = ProviderDocuments(issuer, verify=self._verify, timeout=self._timeout)
            self._providers[issuer] = documents
        return documents

    async def verify(self, token: str, issuer: str) -> dict[str, Any]:
        """The claims of ``token`` if ``issuer`` signed it and it is current; TokenRefused if not.

        ProviderUnavailable propagates: the issuer could not be asked, which is no answer.
        """
        try:
            decoded = await self.provider(issuer).decode(token)
        except SignatureInvalid as exc:
            raise TokenRefused(str(exc)) from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            why = f"{exc.error}: {exc.description}" if exc.description else exc.error
            raise TokenRefused(f"the ID token was refused ({why})") from None
        return dict(claims)


def identity_of(trust: Trust, claims: Mapping[str, Any]) -> Identity:
    """The identity a token accepted by ``trust`` logs in as: ``oidc:TRUST``, capped by grants."""
    federation = Federation(trust.name, trust.issuer, str(claims.get("sub", "")), trust.ttl)
    return Identity(
        trust.subject,
        frozenset(),
        CredentialKind.ID_TOKEN,
        None,
        cap=trust.grants,
        federation=federation,
    )


class TokenVerifier(Protocol):
    """Verifies an ID token as ``issuer``'s and returns its claims (IdTokenVerifier's shape)."""

    async def verify(self, token: str, issuer: str) -> dict[str, Any]:
        """The verified claims; TokenRefused or ProviderUnavailable otherwise."""
        ...


class CachedIdTokenVerifier:
    """Remembers verified claims by the token's SHA-256 until ``VERIFIED_TTL`` or ``exp``.

    Only successes are kept, so a refused token is verified (and refused) again every time.
    Trusts are matched after this, on every request, so deleting a trust takes effect at once.
    A key the issuer withdraws from its JWKS stops working for new tokens at the next key fetch
    and for tokens already seen within ``VERIFIED_TTL``.
    """

    def __init__(
        self,
        inner: TokenVerifier,
        *,
        ttl: float = VERIFIED_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wrap ``inner``; ``ttl`` 0 verifies every time."""
        self._inner = inner
        self._ttl = ttl
        self._clock = clock
        self.cache: Cache[tuple[str, bytes], dict[str, Any]] = Cache(ttl=ttl, clock=clock)

    async def verify(self, token: str, issuer: str) -> dict[str, Any]:
        """The cached claims, or ``inner``'s answer (cached until min(ttl, exp))."""
        key = (issuer, hashlib.sha256(token.encode("utf-8")).digest())
        claims = self.cache.get(key)
        if claims is not None and claims["exp"] > self._clock():
            return claims
        claims = await self._inner.verify(token, issuer)
        self.cache.put(key, claims, ttl=min(self._ttl, float(claims["exp"]) - self._clock()))
        return claims


def is_id_token_login(credentials: Credentials) -> bool:
    """Whether the credentials are this authenticator's: an exchange, or Basic user ``oidc``."""
    if credentials.kind is CredentialKind.ID_TOKEN:
        return True
    return (
        credentials.kind is CredentialKind.PASSWORD
        and credentials.username.lower() == BASIC_USERNAME
    )


class FederationAuthenticator:
    """Accepts ID tokens that a trust matches; every other credential is not its business."""

    name = "oidc"

    def __init__(self, trusts: TrustService, verifier: TokenVerifier) -> None:
        """Read trusts from ``trusts``; verify tokens with ``verifier``."""
        self._trusts = trusts
        self._verifier = verifier

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Verify the token and find the first trust that accepts it."""
        if not is_id_token_login(credentials):
            return NotMine()
        try:
            trust, claims = await self.match(credentials.secret.strip())
        except TokenRefused as exc:
            return WrongCredentials(str(exc))
        return Authenticated(identity_of(trust, claims))

    async def match(self, token: str) -> tuple[Trust, dict[str, Any]]:
        """The trust that accepts ``token`` and its verified claims (TokenRefused if none)."""
        issuer = unverified_claims(token)["iss"]
        trusts = await self._trusts.of_issuer(issuer)
        if not trusts:
            raise TokenRefused(NO_TRUST_FOR_ISSUER)
        claims = await self.verified_claims(token, issuer)
        trust = first_match(trusts, claims)
        if trust is None:
            raise TokenRefused(NO_TRUST_MATCHES)
        return trust, claims

    async def verified_claims(self, token: str, issuer: str) -> dict[str, Any]:
        """Verify ``token`` as ``issuer``'s; an unreachable issuer is BackendUnavailable."""
        try:
            return await self._verifier.verify(token, issuer)
        except ProviderUnavailable as exc:
            raise BackendUnavailable(f"OpenID issuer {issuer}: {exc}") from None

    async def explain(self, token: str) -> tuple[dict[str, Any], list[tuple[Trust, list[str]]]]:
        """``trust check``: the verified claims and, for each trust of the issuer, why not."""
        issuer = unverified_claims(token)["iss"]
        trusts = await self._trusts.of_issuer(issuer)
        if not trusts:
            raise TokenRefused(f"{NO_TRUST_FOR_ISSUER} ({issuer})")
        claims = await self.verified_claims(token, issuer)
        return claims, [(t, mismatches(t, claims)) for t in trusts]
