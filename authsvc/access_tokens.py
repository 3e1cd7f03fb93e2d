"""Access tokens: the short-lived JWTs a registry accepts, built from a decided ``access`` list."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from authsvc.authn.types import Identity
from authsvc.authz.grants import AccessEntry
from authsvc.config import TokenConfig
from authsvc.jwt_signer import JwtSigner, build_claims, new_jti
from authsvc.models import MIN_TOKEN_TTL
from authsvc.scope import Scope, format_scope
from svckit.cache import memoized
from svckit.catalog_filter import CLAIM as CATALOG_CLAIM
from svckit.catalog_filter import CatalogFilter


@memoized(max_entries=4)
def rfc3339(timestamp: int) -> str:
    """Format a Unix time as ``YYYY-MM-DDTHH:MM:SSZ`` (memoised: it changes once a second)."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed access token and what it grants."""

    token: str
    expires_in: int
    issued_at: dt.datetime
    access: tuple[AccessEntry, ...]
    # The token's ID, for the audit trail (the token itself is never recorded).
    jti: str = ""

    @property
    def issued_at_rfc3339(self) -> str:
        """``issued_at`` as RFC 3339 with a ``Z`` suffix; Go's time.Time accepts exactly that."""
        return rfc3339(int(self.issued_at.timestamp()))

    @property
    def scope(self) -> str:
        """The granted scopes, space-separated (the POST response's ``scope``, RFC 6749 §5.1)."""
        return " ".join(
            format_scope(Scope(e.type, e.name, e.actions)) for e in self.access if e.actions
        )


class AccessTokenIssuer:
    """Builds the claims (integer times, random jti) for a decided access list and signs them."""

    def __init__(
        self, signer: JwtSigner, config: TokenConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        """Sign with ``signer`` under ``config`` (issuer and lifetime)."""
        self._signer = signer
        self._config = config
        self._clock = clock

    def ttl_for(self, identity: Identity | None) -> int:
        """The account's own lifetime if it has one, else the server's; never under 60 s."""
        ttl = identity.token_ttl if identity is not None else None
        if identity is not None and identity.federation is not None and identity.federation.ttl:
            # A trust sets its own lifetime (``trust add --ttl``), typically a CI job's length.
            ttl = identity.federation.ttl
        return max(MIN_TOKEN_TTL, ttl if ttl is not None else self._config.ttl)

    def issue(
        self,
        identity: Identity | None,
        service: str,
        access: Sequence[AccessEntry],
        *,
        catalog: CatalogFilter | None = None,
    ) -> IssuedToken:
        """A token for ``identity`` (None: anonymous) with audience ``service``.

        ``catalog`` adds the ``authsvc.catalog`` claim (svckit.catalog_filter) to a token whose
        catalog grant a filtered rule made.
        """
        now = int(self._clock())
        ttl = self.ttl_for(identity)
        claims = build_claims(
            issuer=self._config.issuer,
            subject=identity.name if identity is not None else None,
            audience=service,
            access=access,
            now=now,
            ttl=ttl,
            jti=(jti := new_jti()),
        )
        if catalog is not None:
            claims[CATALOG_CLAIM] = catalog.to_claim()
        issued_at = dt.datetime.fromtimestamp(now, dt.UTC)
        return IssuedToken(self._signer.sign(claims), ttl, issued_at, tuple(access), jti)
