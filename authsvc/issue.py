"""Issuing access tokens: identity + service + scopes -> ACL grant -> claims -> signed JWT."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import acl, store
from authsvc.authn import Identity
from authsvc.config import TokenConfig
from authsvc.errors import AuthError, ErrorCode
from authsvc.scope import Scope, format_scope
from authsvc.tokens import AccessEntry, TokenSigner, build_claims, new_jti

# The rule list is read on every token request. Holding it for a second keeps a query and the
# pattern compilation off the hot path (issue 5 T1/T2), while a changed rule takes effect within
# that second, long before any token issued under the old rule (ttl >= 60 s) expires anyway.
ACL_CACHE_TTL = 1.0


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed access token and what it grants."""

    token: str
    expires_in: int
    issued_at: dt.datetime
    access: tuple[AccessEntry, ...]

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


@functools.lru_cache(maxsize=4)
def rfc3339(timestamp: int) -> str:
    """Format a Unix time as ``YYYY-MM-DDTHH:MM:SSZ`` (cached: it changes once a second)."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_grants(grants: Sequence[tuple[Scope, tuple[str, ...]]]) -> tuple[AccessEntry, ...]:
    """Combine per-scope grants into access entries: drop empty ones, merge repeated resources."""
    merged: dict[tuple[str, str], list[str]] = {}
    for scope, actions in grants:
        if not actions:
            # Downscope, don't fail: nothing granted means the resource is left out (quay).
            continue
        bucket = merged.setdefault((scope.type, scope.name), [])
        bucket.extend(a for a in actions if a not in bucket)
    return tuple(AccessEntry(t, n, tuple(actions)) for (t, n), actions in merged.items())


class AclCache:
    """The ordered rule list, reloaded from the store when older than ``ttl`` seconds."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: float = ACL_CACHE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Read rules through ``sessionmaker``; ``ttl`` 0 reads them on every request."""
        self._sessionmaker = sessionmaker
        self._ttl = ttl
        self._clock = clock
        self._rules: list[acl.AclRule] | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Drop the cached rules; the next request reads them again."""
        self._rules = None

    async def rules(self) -> list[acl.AclRule]:
        """Return the current rules, reading them at most once per ``ttl`` (single flight)."""
        rules = self._rules
        if rules is not None and self._clock() < self._expires:
            return rules
        async with self._lock:
            rules = self._rules
            if rules is not None and self._clock() < self._expires:
                return rules
            async with self._sessionmaker() as session:
                rules = list(await store.list_rules(session))
            self._rules, self._expires = rules, self._clock() + self._ttl
            return rules


class TokenIssuer:
    """Evaluates the ACL for each requested scope and signs the resulting token."""

    def __init__(
        self,
        signer: TokenSigner,
        acl_cache: AclCache,
        config: TokenConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Sign with ``signer`` under ``config`` (issuer, services, ttl)."""
        self._signer = signer
        self._acl = acl_cache
        self._config = config
        self._clock = clock

    def check_service(self, service: str | None) -> str:
        """Return the service if this server issues for it; 400 otherwise (CONTRACT)."""
        if not service:
            raise AuthError(ErrorCode.SERVICE_UNKNOWN, "the service parameter is required")
        if service not in self._config.services:
            raise AuthError(ErrorCode.SERVICE_UNKNOWN, f"unknown service {service!r}")
        return service

    async def grant(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> tuple[AccessEntry, ...]:
        """The intersection of what was requested and what the ACL allows, per scope."""
        if not scopes:
            return ()
        rules = await self._acl.rules()
        account = identity.name if identity else None
        groups = identity.groups if identity else frozenset()
        decisions = [
            (
                scope,
                acl.evaluate(
                    rules, account=account, groups=groups, scope=scope, service=service
                ).granted,
            )
            for scope in scopes
        ]
        return merge_grants(decisions)

    async def issue(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> IssuedToken:
        """Grant, build the claims (integer times, random jti) and sign."""
        access = await self.grant(identity, service, scopes)
        now = int(self._clock())
        claims = build_claims(
            issuer=self._config.issuer,
            subject=identity.name if identity else None,
            audience=service,
            access=access,
            now=now,
            ttl=self._config.ttl,
            jti=new_jti(),
        )
        token = self._signer.sign(claims)
        issued_at = dt.datetime.fromtimestamp(now, dt.UTC)
        return IssuedToken(token, self._config.ttl, issued_at, access)
