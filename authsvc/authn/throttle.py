"""Login throttling: slow password guessing down, per account and address and per address.

Every password-kind login (GET ``/auth`` with Basic, the POST password grant, the account
page, personal access tokens, LDAP) passes through the chain, and the chain asks this throttle
before any authenticator runs. Two counters decide, both kept in the database so that every
replica on one PostgreSQL sees the same counts:

- ``user:NAME@ADDRESS`` counts failures for one account from one address. An attacker
  hammering ``alice`` from one address is slowed down there, while alice logging in from
  another address is not: the counter is not a lockout weapon. A success resets it.
- ``address:ADDRESS`` counts every failure from one address, whatever the user name, so
  rotating names does not escape it; it has its own (larger) number of free attempts.

A blocked request gets 429 with ``Retry-After`` and no password check at all, so a throttled
attacker cannot burn CPU with argon2. Unknown users are counted exactly like known ones: the
key is the presented name, so neither the answer nor its timing says whether one exists.
Refresh tokens are not passwords and are never throttled. Reads are cached for a second per
process (each replica sees another's new block within a second); this process's own failures
update its cache at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.authn.throttle_policy import ThrottlePolicy
from authsvc.authn.types import CredentialKind, Credentials
from authsvc.errors import AuthError, ErrorCode
from authsvc.models import utcnow
from svckit.cache import Cache

log = logging.getLogger(__name__)

READ_TTL = 1.0
MAX_KEY_NAME = 255
NO_COUNT = store.FailureRecord("", 0, dt.datetime.min.replace(tzinfo=dt.UTC), None)


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """The per-account and per-address policies."""

    account: ThrottlePolicy
    address: ThrottlePolicy

    @property
    def enabled(self) -> bool:
        """Whether any counter is on."""
        return self.account.enabled or self.address.enabled


def throttle_keys(credentials: Credentials) -> tuple[str, str | None]:
    """The account-at-address key and the address key (None without an address)."""
    name = credentials.username.casefold()[:MAX_KEY_NAME]
    address = credentials.address
    return f"user:{name}@{address}", (f"address:{address}" if address else None)


class LoginThrottle:
    """Decides whether a login may be tried now, and counts its outcome."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: ThrottleSettings,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Count in the store behind ``sessionmaker`` with ``settings``."""
        self._sessionmaker = sessionmaker
        self.settings = settings
        self._clock = clock
        # A key with no row is cached as NO_COUNT, so that "nothing counted" is cached too.
        self.counters: Cache[str, store.FailureRecord] = Cache(
            ttl=READ_TTL, max_entries=100_000, clock=monotonic
        )

    @staticmethod
    def applies_to(credentials: Credentials) -> bool:
        """Passwords (and password substitutes) are throttled; refresh tokens are not."""
        return credentials.kind is CredentialKind.PASSWORD

    async def _read(self, keys: list[str]) -> list[store.FailureRecord]:
        cached = [self.counters.get(key) for key in keys]
        missing = [key for key, record in zip(keys, cached, strict=True) if record is None]
        if not missing:
            return [record for record in cached if record is not None]
        async with store.transaction(self._sessionmaker, commit=False) as session:
            found = await store.get_failures(session, missing)
        for key in missing:
            self.counters.put(key, found.get(key, NO_COUNT))
        return [self.counters.get(key) or NO_COUNT for key in keys]

    async def check(self, credentials: Credentials) -> None:
        """Raise 429 with Retry-After while either counter blocks this login."""
        if not self.settings.enabled:
            return
        pair, address = throttle_keys(credentials)
        keys = [pair] if address is None else [pair, address]
        now = self._clock()
        records = await self._read(keys)
        blocked = [r.blocked_until for r in records if r.blocked_until and r.blocked_until > now]
        if blocked:
            wait = max(1, math.ceil((max(blocked) - now).total_seconds()))
            raise AuthError(
                ErrorCode.TOOMANYREQUESTS,
                f"too many failed logins; try again in {wait} seconds",
                headers={"Retry-After": str(wait)},
            )

    async def failed(self, credentials: Credentials) -> None:
        """Count a failure on both counters (a store error is logged, not raised)."""
        if not self.settings.enabled:
            return
        pair, address = throttle_keys(credentials)
        now = self._clock()
        # A count whose last failure is older than the longest block has served its purpose.
        reset_before = now - dt.timedelta(seconds=max(self.settings.account.cap, 60.0))
        try:
            async with store.transaction(self._sessionmaker) as session:
                records = [
                    await store.count_failure(
                        session,
                        pair,
                        now,
                        reset_before=reset_before,
                        block_for=self.settings.account.delay,
                    )
                ]
                if address is not None and self.settings.address.enabled:
                    records.append(
                        await store.count_failure(
                            session,
                            address,
                            now,
                            reset_before=reset_before,
                            block_for=self.settings.address.delay,
                        )
                    )
        except store.StoreError as exc:
            log.warning("throttle: could not count a failed login: %s", exc)
            return
        for record in records:
            self.counters.put(record.key, record)
            if record.blocked_until is not None:
                log.warning(
                    "throttle: %s blocked for %ds after %d failed logins",
                    record.key,
                    round((record.blocked_until - now).total_seconds()),
                    record.failures,
                )

    async def succeeded(self, credentials: Credentials) -> None:
        """Reset the account-at-address counter if it counts anything."""
        if not self.settings.enabled:
            return
        pair, _ = throttle_keys(credentials)
        if self.counters.get(pair) is NO_COUNT:
            return
        self.counters.put(pair, NO_COUNT)
        try:
            async with store.transaction(self._sessionmaker) as session:
                await store.clear_failures(session, [pair])
        except store.StoreError as exc:
            log.warning("throttle: could not reset a counter: %s", exc)
