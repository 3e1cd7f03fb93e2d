"""TokenVerifier: Bearer token checks in Distribution 2.8's order, with a verified-token cache.

Order and decisions follow registry/auth/token (accesscontroller.go `Authorized`, token.go
`Verify`): Authorization must be exactly `Bearer <token>`; the token is parsed; `iss` and
`aud` must equal the configured issuer and service; `exp`/`nbf` are checked with 60 s leeway
(RFC 7519 §4.1.4-5); the signing key comes from `x5c`, else `jwk`, else `kid`; the signature
is verified; finally every needed access must be granted.

Verified tokens are cached (a ``svckit.cache.Cache``) by their raw string until `exp` + leeway,
so ECDSA/RSA verification is paid once per token, not once per request.  Access is still
checked against the cached Principal on every request.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import Algorithm, ECAlgorithm, RSAAlgorithm

from registry.auth.access import Access, Principal, grants_from_claim
from registry.auth.challenge import (
    INSUFFICIENT_SCOPE,
    INVALID_TOKEN,
    AuthChallenge,
    ChallengeError,
)
from registry.auth.jws import MalformedToken, ParsedToken, ResourceActions, parse_token
from registry.auth.keys import TrustStore, UntrustedKey, VerifyKey, load_jwks
from svckit.cache import Cache
from svckit.catalog_filter import CatalogFilter

log = logging.getLogger(__name__)

DEFAULT_LEEWAY = 60
DEFAULT_CACHE_SIZE = 4096
GRANTS_CACHE_SIZE = 1024

# The allow-list (RFC 7518 §3.1): ECDSA on its own curve and RSASSA-PKCS1-v1_5, exactly the
# algorithms libtrust verifies. Never "none", never HMAC (a public key is not a secret).
_EC_ALGORITHMS: Mapping[str, tuple[str, Algorithm]] = {
    "ES256": ("secp256r1", ECAlgorithm(ECAlgorithm.SHA256)),
    "ES384": ("secp384r1", ECAlgorithm(ECAlgorithm.SHA384)),
    "ES512": ("secp521r1", ECAlgorithm(ECAlgorithm.SHA512)),
}
_RSA_ALGORITHMS: Mapping[str, Algorithm] = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
    "RS512": RSAAlgorithm(RSAAlgorithm.SHA512),
}
ALLOWED_ALGORITHMS = frozenset(_EC_ALGORITHMS) | frozenset(_RSA_ALGORITHMS)


def token_key(token: str) -> bytes:
    """The verified-token cache's key for a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class InvalidToken(Exception):
    """The token failed a check; the message says which (for logs, never for clients)."""


def check_signature(alg: str, key: VerifyKey, signing_input: bytes, signature: bytes) -> None:
    """Verify a JWS signature with an allowed algorithm that fits the key, or raise.

    ES* signatures are the raw r||s octets of RFC 7518 §3.4; PyJWT's ECAlgorithm refuses any
    other length, so a DER-encoded signature fails like it does in libtrust.
    """
    if alg in _EC_ALGORITHMS:
        curve, algorithm = _EC_ALGORITHMS[alg]
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise InvalidToken(f"{alg} does not match the signing key")
    elif alg in _RSA_ALGORITHMS:
        algorithm = _RSA_ALGORITHMS[alg]
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidToken(f"{alg} does not match the signing key")
    else:
        raise InvalidToken(f"signing algorithm {alg!r} is not allowed")
    if not algorithm.verify(signing_input, key, signature):
        raise InvalidToken("signature verification failed")


def catalog_filter(value: object) -> CatalogFilter | None:
    """The token's catalog filter; one that shows nothing if the claim is malformed.

    Failing closed keeps a garbled claim from widening a filtered catalog grant to the whole
    catalog; the token's other grants are unaffected, so pulls and pushes still work.
    """
    if value is None:
        return None
    try:
        return CatalogFilter.from_claim(value)
    except ValueError as exc:
        log.warning("token's catalog filter is malformed, listing nothing: %s", exc)
        return CatalogFilter(((),))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, else None.

    Like Distribution, the value must split on single spaces into exactly two parts with a
    case-insensitive "bearer" scheme (RFC 6750 §2.1). Surrounding whitespace is not part of
    a field value (RFC 9110 §5.5), so "Bearer " is no token at all, as on the wire.
    """
    if not authorization:
        return None
    parts = authorization.strip(" \t").split(" ")
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


class TokenVerifier:
    """Checks Bearer tokens against the rootcertbundle and the required access."""

    def __init__(
        self,
        *,
        realm: str,
        service: str,
        issuer: str,
        rootcertbundle: Path | None,
        jwks: Path | None = None,
        leeway: int = DEFAULT_LEEWAY,
        cache_size: int = DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` is the wall clock for exp/nbf; ``monotonic`` ages the verified-token cache."""
        self.realm = realm
        self.service = service
        self.issuer = issuer
        self.leeway = leeway
        # Distribution 3: a bundle (x5c roots, and keys by libtrust kid), a JWKS (keys by kid),
        # or both; at least one (the configuration checks it).
        self.trust = TrustStore.load(rootcertbundle) if rootcertbundle is not None else None
        self.jwks = load_jwks(jwks) if jwks is not None else {}
        self._clock = clock
        # Keyed by the token's SHA-256, not the token: a token with its x5c chain is 2-3 KB,
        # and at 4,096 entries the keys alone would be most of the registry's cache memory.
        self.cache: Cache[bytes, Principal] = Cache(
            ttl=None, max_entries=max(1, cache_size), clock=monotonic
        )
        # One grants map per distinct `access` claim, shared by the cached tokens that carry
        # it: a client's tokens repeat the same few claims, and a map per token was most of
        # what each cached token kept alive.
        self._grants: Cache[tuple[ResourceActions, ...], Mapping[tuple[str, str], frozenset[str]]]
        self._grants = Cache(ttl=None, max_entries=GRANTS_CACHE_SIZE)

    def authorize(self, authorization: str | None, needed: Sequence[Access]) -> Principal:
        """Return the token's Principal if it is valid and grants `needed`; else AuthChallenge."""
        token = bearer_token(authorization)
        if token is None:
            raise self._challenge(needed, None, "authorization token required")
        key = token_key(token)
        principal = self.cache.get(key)
        if principal is None:
            try:
                principal = self.verify(token)
            except (MalformedToken, InvalidToken) as exc:
                log.info("rejected bearer token: %s", exc)
                raise self._challenge(needed, INVALID_TOKEN, str(exc)) from None
            # Kept while verify() would still accept it: until exp + leeway on the wall clock,
            # converted into a lifetime for the cache's monotonic clock.
            self.cache.put(key, principal, ttl=principal.expires_at + self.leeway - self._clock())
        for access in needed:
            if not principal.allows(access):
                raise self._challenge(
                    needed,
                    INSUFFICIENT_SCOPE,
                    f"token does not grant {access.action} on {access.type}:{access.name}",
                )
        return principal

    def verify(self, token: str) -> Principal:
        """Fully verify a token (no cache); raise MalformedToken or InvalidToken."""
        parsed = parse_token(token)
        claims = parsed.claims
        if claims.iss != self.issuer:
            raise InvalidToken(f"token from untrusted issuer {claims.iss!r}")
        if claims.aud != self.service:
            raise InvalidToken(f"token intended for another audience {claims.aud!r}")
        now = self._clock()
        if now > claims.exp + self.leeway:
            raise InvalidToken("token has expired")
        if now < claims.nbf - self.leeway:
            raise InvalidToken("token is not valid yet")
        if not parsed.signature:
            raise InvalidToken("token has no signature")
        if parsed.header.alg not in ALLOWED_ALGORITHMS:
            # Before any key work: nothing outside the allow-list could verify anyway.
            raise InvalidToken(f"signing algorithm {parsed.header.alg!r} is not allowed")
        key = self._signing_key(parsed, now)
        check_signature(parsed.header.alg, key, parsed.signing_input, parsed.signature)
        return Principal(
            subject=claims.sub,
            access=self._grants.get_or_compute(
                claims.access, lambda: MappingProxyType(grants_from_claim(claims.access))
            ),
            expires_at=claims.exp,
            catalog_filter=catalog_filter(claims.catalog),
        )

    def _signing_key(self, parsed: ParsedToken, now: float) -> VerifyKey:
        """The trusted key named by the header: x5c first, then jwk, then kid (token.go)."""
        header = parsed.header
        moment = datetime.fromtimestamp(now, UTC)
        try:
            if header.x5c or header.jwk is not None:
                if self.trust is None:
                    # As Distribution 3: a certificate chain needs a bundle to verify it
                    # against, and a token that carries one is not looked up by kid instead.
                    raise UntrustedKey("token carries x5c or jwk but no rootcertbundle is set")
                if header.x5c:
                    return self.trust.key_for_x5c(header.x5c, moment)
                return self.trust.key_for_jwk(header.jwk, moment)
            if header.kid:
                key = self.jwks.get(header.kid)
                if key is not None:
                    return key
                if self.trust is None:
                    raise UntrustedKey(f"token signed by untrusted key with ID {header.kid!r}")
                return self.trust.key_for_kid(header.kid)
        except UntrustedKey as exc:
            raise InvalidToken(str(exc)) from None
        raise InvalidToken("token header names no signing key (kid, x5c or jwk)")

    def _challenge(
        self, needed: Sequence[Access], error: ChallengeError | None, reason: str
    ) -> AuthChallenge:
        return AuthChallenge(
            realm=self.realm, service=self.service, needed=needed, error=error, reason=reason
        )
