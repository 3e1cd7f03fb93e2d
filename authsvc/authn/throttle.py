"""Login throttling around the authenticator chain: per account and address, and per address.

Every credential checked through the chain (GET Basic, the POST password grant, the account
page, personal access tokens, CI ID tokens) passes here first. Refresh tokens do not: they are
256-bit random secrets nobody can guess, and a user under attack must keep her sessions.

- A blocked key is refused with 429 before any password is checked, so a throttled attacker
  costs one cached lookup, not an argon2id run.
- Failures are counted per (user name, address), so hammering ``alice`` from address A never
  blocks her from address B, and per address alone, so rotating user names does not help.
- The user name is counted whether or not such a user exists, by the same path and queries,
  so neither the answer nor its timing says which names exist.
- Counts live in the database (``authsvc.store.throttle``) and every replica sees them; each
  replica caches the state of a key for ``STATE_TTL`` seconds so that the hot path of repeated
  logins reads nothing. A block set by another replica is therefore seen within that time.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.authn.chain import AuthenticatorChain
from authsvc.authn.federation import TokenRefused, is_id_token_login, unverified_claims
from authsvc.authn.types import CredentialKind, Credentials, Identity
from authsvc.config import ThrottleConfig
from authsvc.errors import AuthError, ErrorCode
from authsvc.models import utcnow
from authsvc.names import normalize_username
from svckit.cache import Cache

log = logging.getLogger(__name__)

STATE_TTL = 1.0
# The per-address row has an empty user name (no real user name is empty).
ADDRESS_ONLY = ""
Key = tuple[str, str]


def block_delay(failures: int, free: int, base: float, cap: float) -> float:
    """Seconds to block after ``failures`` consecutive failures: 0, then doubling, capped."""
    if free <= 0 or base <= 0 or cap <= 0 or failures <= free:
        return 0.0
    # min() on the exponent first: 2**failures for a huge count would be a huge integer.
    return float(min(cap, base * 2 ** min(failures - free - 1, 64)))


def throttle_name(username: str) -> str:
    """The user name as counted: normalised as logins see it, or the raw text (cut) if invalid."""
    if not username:
        # Never the per-address key's empty name; "@" starts no user name (authsvc.names).
        return "@empty"
    try:
        return normalize_username(username)
    except ValueError:
        return username[:255]


def throttle_key(credentials: Credentials) -> str:
    """The name failures are counted under: the user name, or for an ID token its ``sub``.

    CI jobs behind one address (a NAT, a runner fleet) all log in as ``oidc``: counting them
    by the token's (unverified) subject keeps one failing pipeline from blocking the others.
    Someone who varies the subject still meets the per-address limit.
    """
    if is_id_token_login(credentials):
        try:
            subject = unverified_claims(credentials.secret.strip()).get("sub")
        except TokenRefused:
            subject = None
        return f"oidc:{subject}"[:255] if isinstance(subject, str) else "oidc"
    return throttle_name(credentials.username)


class ThrottleState(Protocol):
    """The failure counts, read and written (the SQL store, cached)."""

    async def read(self, username: str, address: str) -> tuple[store.FailureRecord, ...]:
        """The rows for the account+address key and the address key (those that exist)."""
        ...

    async def failed(self, username: str, address: str, config: ThrottleConfig) -> dt.datetime:
        """Count a failure for both keys; return until when the request's keys are blocked."""
        ...

    async def succeeded(self, username: str, address: str) -> None:
        """Forget the account+address failures (the per-address count stays)."""
        ...


class SqlThrottleState:
    """Failure counts in the database, with a short per-replica cache of reads."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        ttl: float = STATE_TTL,
    ) -> None:
        """Count in ``sessionmaker``'s database; reads are kept ``ttl`` seconds."""
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.cache: Cache[Key, tuple[store.FailureRecord, ...]] = Cache(ttl=ttl)

    async def read(self, username: str, address: str) -> tuple[store.FailureRecord, ...]:
        """Both keys' rows, from the cache or one query."""

        async def load() -> tuple[store.FailureRecord, ...]:
            async with store.transaction(self._sessionmaker, commit=False) as session:
                rows = await store.get_login_failures(
                    session, [(username, address), (ADDRESS_ONLY, address)]
                )
            return tuple(rows.values())

        return await self.cache.get_or_load((username, address), load)

    async def failed(self, username: str, address: str, config: ThrottleConfig) -> dt.datetime:
        """Increment both counts in one transaction."""
        now = self._clock()
        base, cap = float(config.base_delay), float(config.max_delay)
        async with store.transaction(self._sessionmaker) as session:
            account = await store.add_login_failure(
                session,
                username,
                address,
                now,
                lambda n: block_delay(n, config.free_attempts, base, cap),
            )
            per_address = await store.add_login_failure(
                session,
                ADDRESS_ONLY,
                address,
                now,
                lambda n: block_delay(n, config.address_free_attempts, base, cap),
            )
        # Every cached key of this address holds the per-address row, now out of date.
        self.cache.invalidate_where(lambda key: key[1] == address)
        return max(r.blocked_until or now for r in (account, per_address))

    async def succeeded(self, username: str, address: str) -> None:
        """Delete the account+address row."""
        async with store.transaction(self._sessionmaker) as session:
            await store.reset_login_failures(session, [(username, address)])
        self.cache.invalidate((username, address))


class LoginThrottle:
    """Refuses blocked keys with 429, counts failures and resets on success."""

    def __init__(
        self,
        inner: AuthenticatorChain,
        state: ThrottleState,
        config: ThrottleConfig,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """Guard ``inner`` with counts kept in ``state``, per ``config``."""
        self._inner = inner
        # The chain's backends, in order (what tools and tests inspect).
        self.authenticators = inner.authenticators
        self._state = state
        self._config = config
        self._clock = clock

    async def authenticate(self, credentials: Credentials) -> Identity:
        """The inner chain's answer, unless the key is blocked (429, nothing verified)."""
        if not self._config.enabled or credentials.kind is CredentialKind.REFRESH_TOKEN:
            return await self._inner.authenticate(credentials)
        name = throttle_key(credentials)
        address = credentials.address or "unknown"
        rows = await self._state.read(name, address)
        self._refuse_if_blocked(rows, self._clock())
        try:
            identity = await self._inner.authenticate(credentials)
        except AuthError as exc:
            if exc.code is ErrorCode.UNAUTHORIZED:
                await self._count_failure(name, address)
            raise
        if any(r.username == name for r in rows):
            await self._forget(name, address)
        return identity

    def _refuse_if_blocked(self, rows: tuple[store.FailureRecord, ...], now: dt.datetime) -> None:
        until = max((r.blocked_until for r in rows if r.blocked_until is not None), default=None)
        if until is None or until <= now:
            return
        wait = max(1, math.ceil((until - now).total_seconds()))
        # The same words whichever key is blocked and whether the user exists.
        raise AuthError(
            ErrorCode.TOOMANYREQUESTS,
            f"too many failed logins; try again in {wait} seconds",
            detail={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )

    async def _count_failure(self, name: str, address: str) -> None:
        try:
            await self._state.failed(name, address, self._config)
        except store.StoreError as exc:
            # The answer stays 401: an outage must not turn a wrong password into a 503.
            log.warning("could not count a failed login: %s", exc)

    async def _forget(self, name: str, address: str) -> None:
        try:
            await self._state.succeeded(name, address)
        except store.StoreError as exc:
            # Bookkeeping: a login that succeeded is not failed for it.
            log.warning("could not reset failed logins: %s", exc)
