"""Refresh tokens (docker's identity tokens): issue them, and resolve presented ones to a user.

They are distinct from the short-lived access tokens (``access_tokens.py``): a refresh token is
a random secret stored as a hash, handed out once by ``docker login`` and exchanged for access
tokens at the refresh grant (RFC 6749 §6). They are never rotated when used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.models import utcnow
from svckit.cache import Cache

# Refresh tokens are 43 characters; anything much longer is not one of ours, so it is rejected
# before it costs a database query.
MAX_TOKEN_LENGTH = 256
# last_used_at is a hint for administrators, not a counter: writing it on every grant would put
# a commit (an fsync on SQLite) on the hot path of every pull, so it is refreshed once a minute.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
# A validated token is trusted for this long before its row is read again. The refresh grant is
# the hot path of every docker pull and push, and a database round trip per grant costs more
# than the rest of the request. Revocation (``token revoke``, a password change, disabling or
# deleting the user, from any process) therefore takes effect within this bound, far inside the
# lifetime of the access tokens issued before it (at least 60 s).
REVALIDATE_AFTER = 1.0
CACHE_MAX_ENTRIES = 10_000

Clock = Callable[[], dt.datetime]


class RefreshTokenInvalid(Exception):
    """The presented refresh token cannot be used; the message says why (safe to show)."""


def as_utc(value: dt.datetime) -> dt.datetime:
    """Treat a naive datetime (SQLite returns those) as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def hash_refresh_token(secret: str) -> str:
    """The stored form: SHA-256 hex. The secret has 256 bits of entropy, so a fast hash suffices."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_refresh_token() -> tuple[str, str]:
    """Return a new ``(secret, stored hash)`` pair."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_refresh_token(secret)


@dataclass(frozen=True, slots=True)
class ValidRefreshToken:
    """A refresh token that was valid when its row was read, and its enabled user."""

    user: store.UserRecord
    service: str
    expires_at: dt.datetime


class RefreshTokenService:
    """Issues refresh tokens and resolves presented ones (revalidated every second)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: int,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        revalidate_after: float = REVALIDATE_AFTER,
    ) -> None:
        """Use ``sessionmaker`` for the store and give new tokens a lifetime of ``ttl`` seconds."""
        self._sessionmaker = sessionmaker
        self._ttl = dt.timedelta(seconds=ttl)
        self._clock = clock
        self.validated: Cache[str, ValidRefreshToken] = Cache(
            ttl=revalidate_after, max_entries=CACHE_MAX_ENTRIES, clock=monotonic
        )

    async def issue(self, *, user_id: int, service: str, client_id: str) -> str:
        """Create and store a refresh token for the user; return the secret (shown only once)."""
        secret, token_hash = new_refresh_token()
        async with store.transaction(self._sessionmaker) as session:
            await store.create_refresh_token(
                session,
                user_id=user_id,
                token_hash=token_hash,
                service=service,
                client_id=client_id,
                expires_at=self._clock() + self._ttl,
            )
        return secret

    async def resolve(self, secret: str, *, service: str) -> store.UserRecord:
        """Return the user of a valid refresh token, or raise RefreshTokenInvalid saying why."""
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise RefreshTokenInvalid("invalid refresh token")
        token_hash = hash_refresh_token(secret)
        now = self._clock()
        valid = await self.validated.get_or_load(token_hash, lambda: self._read(token_hash, now))
        if valid.expires_at <= now:
            self.validated.invalidate(token_hash)
            raise RefreshTokenInvalid("refresh token has expired")
        # A token is bound to the audience it was issued for (RFC 6749 §6: same scope or less).
        if valid.service != service:
            raise RefreshTokenInvalid("refresh token was not issued for this service")
        return valid.user

    async def _read(self, token_hash: str, now: dt.datetime) -> ValidRefreshToken:
        async with store.transaction(self._sessionmaker) as session:
            found = await store.get_refresh_token_by_hash(session, token_hash)
            if found is None:
                raise RefreshTokenInvalid("invalid refresh token")
            record, user = found
            if record.revoked:
                raise RefreshTokenInvalid("refresh token has been revoked")
            if as_utc(record.expires_at) <= now:
                raise RefreshTokenInvalid("refresh token has expired")
            if user.disabled:
                raise RefreshTokenInvalid("user account is disabled")
            last = record.last_used_at
            if last is None or now - as_utc(last) >= TOUCH_INTERVAL:
                await store.touch_refresh_token(session, record.id, now)
        return ValidRefreshToken(user, record.service, as_utc(record.expires_at))
