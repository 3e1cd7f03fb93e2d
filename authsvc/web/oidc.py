"""The OpenID Connect client of the account page: authorization code flow with PKCE.

Authlib builds the authorization request (PKCE S256 from RFC 7636) and performs the token
request with the client's credentials; joserfc (Authlib's JOSE library) verifies the ID token.
What this module decides itself is the relying party's checks, each from a spec:

- ``state`` binds the callback to the browser that started the sign-in (RFC 6749 §10.12);
- the ``iss`` response parameter, when the provider sends or promises it, must be the issuer
  (RFC 9207 §2.4), which defeats mix-up attacks;
- the ID token's signature is checked against the provider's JWKS with an allow-list of
  asymmetric algorithms (``authsvc.oidc_provider``, shared with workload identity federation:
  no ``none``, no HMAC, OpenID Connect Core §3.1.3.7), and ``iss``, ``aud``, ``azp``, ``exp``,
  ``iat`` and ``nonce`` are checked as that section lists.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError

from authsvc.config import OidcConfig
from authsvc.oidc_provider import (
    LEEWAY,
    ProviderDocuments,
    ProviderUnavailable,
    SignatureInvalid,
    tls_verify,
)
from svckit.cache import Cache

__all__ = [
    "OidcClient",
    "PendingSignIn",
    "ProviderMetadata",
    "ProviderUnavailable",
    "SignInRefused",
]

# Discovery is re-read through ProviderDocuments' cache; this only saves re-parsing it.
METADATA_TTL = 60.0


class SignInRefused(Exception):
    """The sign-in failed a check; the message is safe to show to the person signing in."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document the code flow needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    iss_parameter_supported: bool


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the callback must see again: kept server-side, never in the browser."""

    state: str
    nonce: str
    code_verifier: str

    def as_dict(self) -> dict[str, str]:
        """For storing with the sign-in's session row."""
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}


class OidcClient:
    """Talks to one provider: discovery, the authorization URL, the code exchange."""

    def __init__(self, config: OidcConfig, *, clock: Callable[[], float] = time.time) -> None:
        """Use ``config``'s provider; ``clock`` is the wall clock that ID tokens are checked by."""
        self._config = config
        self._clock = clock
        self._verify = tls_verify(config.ca_file)
        self._provider = ProviderDocuments(
            config.issuer, verify=self._verify, timeout=config.timeout
        )
        self._metadata: Cache[str, ProviderMetadata] = Cache(ttl=METADATA_TTL)

    def _oauth(self) -> AsyncOAuth2Client:
        # A client per sign-in: Authlib's client keeps the fetched token as its own state.
        return AsyncOAuth2Client(
            client_id=self._config.client_id,
            client_secret=self._config.client_secret,
            scope=" ".join(self._config.scopes),
            redirect_uri=self._config.redirect_url,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            verify=self._verify,
            timeout=self._config.timeout,
        )

    async def metadata(self) -> ProviderMetadata:
        """The provider's discovery document (OpenID Connect Discovery 1.0 §4), cached."""
        return await self._metadata.get_or_load("", self._load_metadata)

    async def _load_metadata(self) -> ProviderMetadata:
        doc = await self._provider.discovery()
        try:
            return ProviderMetadata(
                issuer=self._config.issuer,
                authorization_endpoint=str(doc["authorization_endpoint"]),
                token_endpoint=str(doc["token_endpoint"]),
                jwks_uri=str(doc["jwks_uri"]),
                iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
                is True,
            )
        except KeyError as exc:
            raise ProviderUnavailable(f"the discovery document lacks {exc.args[0]}") from None

    async def begin(self) -> tuple[str, PendingSignIn]:
        """The provider URL to send the browser to, and what the callback must match."""
        meta = await self.metadata()
        pending = PendingSignIn(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
        )
        async with self._oauth() as client:
            url, _ = client.create_authorization_url(
                meta.authorization_endpoint,
                state=pending.state,
                code_verifier=pending.code_verifier,
                nonce=pending.nonce,
            )
        return url, pending

    async def finish(self, pending: PendingSignIn, query: Mapping[str, str]) -> dict[str, Any]:
        """Check the callback's query, redeem the code and return the verified ID token claims."""
        meta = await self.metadata()
        if not hmac.compare_digest(query.get("state", ""), pending.state):
            raise SignInRefused("the sign-in response does not belong to this browser session")
        if ("iss" in query or meta.iss_parameter_supported) and query.get("iss") != meta.issuer:
            raise SignInRefused("the sign-in response came from another issuer")
        if "error" in query:
            raise SignInRefused(f"the provider refused the sign-in: {query['error'][:100]}")
        code = query.get("code", "")
        if not code:
            raise SignInRefused("the sign-in response carries no authorization code")
        try:
            async with self._oauth() as client:
                token = await client.fetch_token(
                    meta.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
        except httpx2.TransportError as exc:
            raise ProviderUnavailable(f"token endpoint: {type(exc).__name__}") from None
        except Exception as exc:  # Authlib raises OAuthError and friends for refusals
            raise SignInRefused("the provider did not accept the authorization code") from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("the provider returned no ID token")
        return await self.verify_id_token(id_token, pending.nonce)

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Verify signature and claims (OpenID Connect Core §3.1.3.7) and return the claims."""
        try:
            decoded = await self._provider.decode(id_token)
        except SignatureInvalid:
            raise SignInRefused("the ID token's signature is not valid") from None
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=LEEWAY,
            iss={"essential": True, "value": self._config.issuer},
            aud={"essential": True, "value": self._config.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise SignInRefused(f"the ID token was refused: {exc.error}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self._config.client_id:
            raise SignInRefused("the ID token was issued to another client")
        return dict(claims)
