"""Refresh tokens (docker's identity tokens): issue, hash, and resolve them to their user."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.errors import AuthError, ErrorCode
from authsvc.singleflight import SingleFlight

# Refresh tokens are 43 characters; anything much longer is not one of ours, so it is rejected
# before it costs a database query.
MAX_TOKEN_LENGTH = 256
# last_used_at is an audit hint, not a counter: writing it on every grant would put a commit
# (an fsync on SQLite) on the hot path of issue 5 T1, so it is refreshed at most once a minute.
TOUCH_INTERVAL = dt.timedelta(seconds=60)
# A validated token is trusted for this long before its row is read again. The refresh grant is
# the hot path of every docker pull/push (issue 5 T1: >= 3,000 grants/s), and a database round
# trip per grant costs more than the rest of the request. Revocation (CLI `token revoke`, a
# password change, disabling or deleting the user; all from another process) therefore takes
# effect within this bound, far inside the lifetime of access tokens issued before it (>= 60 s).
REVALIDATE_AFTER = 1.0
CACHE_MAX_ENTRIES = 10_000

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


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
class _Validated:
    user: store.UserRecord
    service: str
    expires_at: dt.datetime
    checked: float


class RefreshTokens:
    """Issues refresh tokens and resolves presented ones; they are never rotated (issue 3 §5)."""

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
        self._monotonic = monotonic
        self._revalidate_after = revalidate_after
        self._validated: OrderedDict[str, _Validated] = OrderedDict()
        self._reads: SingleFlight[_Validated] = SingleFlight()

    async def issue(self, *, user_id: int, service: str, client_id: str) -> str:
        """Create and store a refresh token for the user; return the secret (shown only once)."""
        secret, token_hash = new_refresh_token()
        now = self._clock()
        async with self._sessionmaker() as session:
            await store.create_refresh_token(
                session,
                user_id=user_id,
                token_hash=token_hash,
                service=service,
                client_id=client_id,
                expires_at=now + self._ttl,
            )
            await session.commit()
        return secret

    async def resolve(self, secret: str, *, service: str) -> store.UserRecord:
        """Return the user of a valid refresh token, or raise UNAUTHORIZED saying why not."""
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise AuthError(ErrorCode.UNAUTHORIZED, "invalid refresh token")
        now = self._clock()
        token_hash = hash_refresh_token(secret)
        cached = self._validated.get(token_hash)
        if (
            cached is not None
            and self._monotonic() - cached.checked < self._revalidate_after
            and cached.expires_at > now
        ):
            _check_service(cached.service, service)
            return cached.user
        self._validated.pop(token_hash, None)
        # Requests that arrive while the row is being read share that read.
        cached = await self._reads.do(token_hash, lambda: self._resolve_stored(token_hash, now))
        _check_service(cached.service, service)
        return cached.user

    async def _resolve_stored(self, token_hash: str, now: dt.datetime) -> _Validated:
        async with self._sessionmaker() as session:
            found = await store.get_refresh_token_by_hash(session, token_hash)
            if found is None:
                raise AuthError(ErrorCode.UNAUTHORIZED, "invalid refresh token")
            record, user = found
            if record.revoked:
                raise AuthError(ErrorCode.UNAUTHORIZED, "refresh token has been revoked")
            if as_utc(record.expires_at) <= now:
                raise AuthError(ErrorCode.UNAUTHORIZED, "refresh token has expired")
            if user.disabled:
                raise AuthError(ErrorCode.UNAUTHORIZED, "user account is disabled")
            last = record.last_used_at
            if last is None or now - as_utc(last) >= TOUCH_INTERVAL:
                await store.touch_refresh_token(session, record.id, now)
                await session.commit()
        validated = _Validated(user, record.service, as_utc(record.expires_at), self._monotonic())
        self._validated[token_hash] = validated
        while len(self._validated) > CACHE_MAX_ENTRIES:
            self._validated.popitem(last=False)
        return validated


def _check_service(issued_for: str, requested: str) -> None:
    # A token is bound to the audience it was issued for (RFC 6749 §6: same scope or less).
    if issued_for != requested:
        raise AuthError(ErrorCode.UNAUTHORIZED, "refresh token was not issued for this service")
