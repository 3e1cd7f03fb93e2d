"""Recently verified (user, password) pairs, remembered without keeping the password.

Clients such as skopeo and podman resend Basic credentials with every token request, so every
credential backend that pays for a verification (argon2id for local users, a bind for directory
users) wants to remember a success for a short while. The key is an HMAC-SHA256 of the
length-prefixed pair under a random per-process key, so neither the password nor a plain hash of
it is held, and another process derives other keys. What a hit is worth is the backend's call:
``recall`` takes a predicate that checks the remembered value against the user's current row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from svckit.cache import Cache

MAX_ENTRIES = 10_000

T = TypeVar("T")


class VerifiedPairs(Generic[T]):
    """A TTL cache of verification outcomes keyed by an HMAC of the credential pair."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Remember entries for ``ttl`` seconds; ``ttl`` 0 remembers nothing."""
        self._secret = secrets.token_bytes(32)
        self.entries: Cache[bytes, T] = Cache(ttl=ttl, max_entries=MAX_ENTRIES, clock=clock)

    def key(self, username: str, password: str) -> bytes:
        """The HMAC of the length-prefixed pair, so no two pairs share an encoding."""
        user = username.encode("utf-8")
        message = len(user).to_bytes(4, "big") + user + password.encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def recall(self, key: bytes, still_valid: Callable[[T], bool]) -> T | None:
        """The remembered value if ``still_valid`` accepts it; a rejected entry is dropped.

        Dropping it means whoever presents the pair next pays for a real verification (the
        password changed, the user was disabled, or deleted and created again).
        """
        entry = self.entries.get(key)
        if entry is None:
            return None
        if still_valid(entry):
            return entry
        self.entries.invalidate(key)
        return None

    def remember(self, key: bytes, value: T) -> None:
        """Keep ``value`` for the configured TTL."""
        self.entries.put(key, value)
