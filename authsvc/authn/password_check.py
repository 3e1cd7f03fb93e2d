"""Checking a password against a stored hash: argon2id off the event loop, and a verified cache.

Password verification is CPU-bound (argon2id, about 20 ms of a core), so it runs in a thread
pool and never on the event loop. Clients such as skopeo and podman resend Basic credentials with
every token request, so ``CachedPasswordCheck`` remembers recently verified pairs
(``authsvc.authn.verified_pairs``); an entry counts only while the user's row still has the same
id and password hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from authsvc import metrics, store
from authsvc.authn.verified_pairs import VerifiedPairs
from authsvc.errors import AuthError, ErrorCode
from authsvc.passwords import PasswordHasher, VerifyResult
from svckit import prom
from svckit.cache import Cache


class PasswordCheck(Protocol):
    """Verifies a password for a user row (None: an unknown user, which still costs a verify)."""

    async def check(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> VerifyResult:
        """Whether ``password`` matches, and a replacement hash when the stored one is outdated."""
        ...


# RFC 9110 §10.2.3: when to retry after being shed; a verification takes tens of milliseconds.
SHED_RETRY_AFTER = "1"


class ThreadedPasswordCheck:
    """Runs the hasher in ``executor``; concurrent identical checks share one verification.

    At most ``max_pending`` verifications run or wait for a thread. Beyond that a check is shed
    with 429 before any argon2id work: an unbounded queue lets a burst of guesses (for unknown
    users, which cache nothing) make every real login wait behind it.
    """

    def __init__(
        self, hasher: PasswordHasher, executor: Executor, *, max_pending: int | None = None
    ) -> None:
        """Verify with ``hasher`` on ``executor``'s threads, ``max_pending`` at a time at most."""
        self._hasher = hasher
        self._executor = executor
        self._max_pending = max_pending
        self.pending = 0
        # Keyed by (user, password digest, stored hash): a pure single flight, nothing kept.
        self.flights: Cache[tuple[str, bytes, str | None], VerifyResult] = Cache(ttl=0)

    async def check(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> VerifyResult:
        """Verify in a worker thread (a dummy verify for an unknown user)."""
        stored = user.password_hash if user is not None else None
        loop = asyncio.get_running_loop()
        key = (username, hashlib.sha256(password.encode("utf-8")).digest(), stored)

        async def verify() -> VerifyResult:
            if self._max_pending is not None and self.pending >= self._max_pending:
                raise AuthError(
                    ErrorCode.TOOMANYREQUESTS,
                    "too many logins in progress; try again shortly",
                    headers={"Retry-After": SHED_RETRY_AFTER},
                )
            self.pending += 1
            started = time.perf_counter()
            try:
                return await loop.run_in_executor(
                    self._executor, self._hasher.verify, password, stored
                )
            finally:
                self.pending -= 1
                metrics.PASSWORD_VERIFY_SECONDS.observe(time.perf_counter() - started)

        return await self.flights.get_or_load(key, verify)


@dataclass(frozen=True, slots=True)
class _Verified:
    user_id: int
    password_hash: str


class CachedPasswordCheck:
    """Remembers successful verifications for ``ttl`` seconds (see ``VerifiedPairs``)."""

    def __init__(
        self, inner: PasswordCheck, *, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Wrap ``inner``; ``ttl`` 0 disables the cache."""
        self._inner = inner
        self._pairs: VerifiedPairs[_Verified] = VerifiedPairs(ttl=ttl, clock=clock)
        self.verified = self._pairs.entries
        self.key = self._pairs.key

    async def check(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> VerifyResult:
        """A remembered success for this very row, or a real verification."""
        key = self._pairs.key(username, password)
        if user is not None:

            def same_row(entry: _Verified) -> bool:
                return (
                    not user.disabled
                    and entry.user_id == user.id
                    and hmac.compare_digest(entry.password_hash, user.password_hash or "")
                )

            if self._pairs.recall(key, same_row) is not None:
                prom.child(metrics.CREDENTIAL_CACHE, "hit").inc()
                return VerifyResult(True)
        prom.child(metrics.CREDENTIAL_CACHE, "miss").inc()
        result = await self._inner.check(username, password, user)
        if result.ok and user is not None and not user.disabled:
            self._pairs.remember(key, _Verified(user.id, result.new_hash or user.password_hash))
        return result
