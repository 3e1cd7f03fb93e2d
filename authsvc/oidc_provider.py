"""An OpenID provider's published documents: discovery and the JWKS, fetched over HTTPS, cached.

Both users of ID tokens go through here: the account page's sign-in (``authsvc.web.oidc``) and
workload identity federation (``authsvc.authn.federation``), so there is one implementation of
fetching, caching and key rotation:

- the discovery document (OpenID Connect Discovery 1.0 §4) must name exactly the issuer it was
  fetched for (§4.3), and is kept ``METADATA_TTL`` seconds;
- the JWKS it points to is kept as long; a token whose ``kid`` is not in it refetches the keys
  (the provider may have rotated them), at most once per ``KEY_REFETCH_INTERVAL`` seconds, so a
  stream of forged ``kid``s cannot turn authsvc into a load generator against the provider;
- signatures are checked with an allow-list of asymmetric algorithms: no ``none`` and no HMAC
  (OpenID Connect Core §3.1.3.7, RFC 8725 §3.1), since a symmetric algorithm would let anyone
  who holds the public JWKS mint tokens.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from svckit.cache import Cache

# Asymmetric JWS algorithms only (see the module docstring).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
# Clock skew tolerated on exp, nbf and iat.
LEEWAY = 60
# Discovery and keys are refetched this often; an unknown kid refetches the keys sooner.
METADATA_TTL = 3600.0
# At most one early key refetch per this many seconds.
KEY_REFETCH_INTERVAL = 30.0
# Discovery documents and key sets are small; a provider that sends more is broken or hostile.
MAX_DOCUMENT_BYTES = 256 * 1024


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered nonsense; the message names the failure."""


class SignatureInvalid(Exception):
    """The token is not a JWS signed by one of the provider's keys with an allowed algorithm."""


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """Verify providers against ``ca_file`` when set, else against the system's trust store."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else True


class ProviderDocuments:
    """One issuer's discovery document and key set, fetched on demand and cached."""

    def __init__(
        self,
        issuer: str,
        *,
        verify: ssl.SSLContext | bool,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Fetch from ``issuer`` (an https URL, no trailing slash) verifying TLS with ``verify``."""
        self.issuer = issuer
        self._verify = verify
        self._timeout = timeout
        self._clock = clock
        self._discovery: Cache[str, dict[str, Any]] = Cache(ttl=METADATA_TTL, clock=clock)
        self._keys: Cache[str, KeySet] = Cache(ttl=METADATA_TTL, clock=clock)
        self._last_key_refetch = -KEY_REFETCH_INTERVAL

    def http(self) -> httpx2.AsyncClient:
        """An HTTP client with this provider's TLS trust and timeout."""
        return httpx2.AsyncClient(verify=self._verify, timeout=self._timeout)

    async def get_json(self, url: str) -> dict[str, Any]:
        """GET a JSON object; any failure (network, status, size, syntax) is ProviderUnavailable."""
        try:
            async with self.http() as http:
                response = await http.get(url)
                response.raise_for_status()
                if len(response.content) > MAX_DOCUMENT_BYTES:
                    raise ProviderUnavailable(f"{url}: document too large")
                document = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return document

    async def discovery(self) -> dict[str, Any]:
        """The discovery document, checked to name this issuer (Discovery 1.0 §4.3)."""
        return await self._discovery.get_or_load("", self._load_discovery)

    async def _load_discovery(self) -> dict[str, Any]:
        doc = await self.get_json(f"{self.issuer}/.well-known/openid-configuration")
        if doc.get("issuer") != self.issuer:
            raise ProviderUnavailable(f"{self.issuer}: the discovery document names another issuer")
        jwks_uri = doc.get("jwks_uri")
        # Discovery §3: jwks_uri is REQUIRED and, like every endpoint, an https URL; keys fetched
        # over plain HTTP could be anyone's. (An http issuer is a loopback development set-up.)
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(
            ("https://", "http://") if self.issuer.startswith("http://") else "https://"
        ):
            raise ProviderUnavailable(
                f"{self.issuer}: the discovery document has no https jwks_uri"
            )
        return doc

    async def key_set(self, *, refetch: bool = False) -> KeySet:
        """The provider's JWKS; ``refetch`` asks for a fresh copy (rate-limited)."""
        uri = str((await self.discovery())["jwks_uri"])
        now = self._clock()
        if refetch and now - self._last_key_refetch >= KEY_REFETCH_INTERVAL:
            self._last_key_refetch = now
            self._keys.invalidate(uri)
        return await self._keys.get_or_load(uri, lambda: self._load_keys(uri))

    async def _load_keys(self, url: str) -> KeySet:
        document = await self.get_json(url)
        try:
            return KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable(f"{self.issuer}: the JWKS could not be read") from None

    async def decode(self, token: str) -> jwt.Token:
        """Check the signature (allowed algorithms, a key from the JWKS); claims are unchecked."""
        keys = await self.key_set()
        try:
            return self._decode(token, keys)
        except InvalidKeyIdError:
            # An unknown kid: the provider may have rotated its keys since we fetched them.
            pass
        keys = await self.key_set(refetch=True)
        try:
            return self._decode(token, keys)
        except InvalidKeyIdError:
            raise SignatureInvalid("the token's key is not in the issuer's JWKS") from None

    @staticmethod
    def _decode(token: str, keys: KeySet) -> jwt.Token:
        try:
            return jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except InvalidKeyIdError:
            raise
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise SignatureInvalid(f"the token's signature is not valid ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    # joserfc's error names are stable and safe to show; never echo the token itself.
    return getattr(exc, "error", None) or type(exc).__name__
