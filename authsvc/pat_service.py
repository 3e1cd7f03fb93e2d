"""Personal access tokens: create, list and revoke them, and resolve presented secrets.

One service layer for the CLI (``authsvc pat``), the self-service API (``/api/v1/me/pats``)
and the account page, so there is no second implementation of any of these decisions.
Resolving a secret is cached for one second at most, so that revoking a token, or disabling
or deleting its owner, takes effect within a second on every replica (each replica rereads the
row once its entry expires).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import pats, store
from authsvc.caps import ScopeCap, format_caps, parse_caps
from authsvc.models import utcnow
from authsvc.names import normalize_username
from svckit.cache import Cache
from svckit.settings import SettingError, parse_duration

REVALIDATE_AFTER = 1.0
CACHE_MAX_ENTRIES = 10_000
TOUCH_INTERVAL = dt.timedelta(minutes=1)
MAX_NAME_LENGTH = 64


def parse_lifetime(value: str | None, what: str) -> dt.timedelta | None:
    """A token lifetime such as ``30d`` or ``12h``; ``never`` or None is no expiry.

    ValueError names ``what`` (the CLI's option or the API's field) and the problem.
    """
    if value is None or value == "never":
        return None
    try:
        return dt.timedelta(seconds=parse_duration(value, what))
    except SettingError as exc:
        raise ValueError(str(exc)) from None


class PatInvalid(Exception):
    """The presented secret is unknown, revoked or expired; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class ValidPat:
    """A usable token: its owner's row (as read now) and its caps."""

    pat_id: int
    user: store.UserRecord
    caps: tuple[ScopeCap, ...]
    expires_at: dt.datetime | None


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def check_token_name(name: str) -> str:
    """A token's label: 1 to 64 printable characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise ValueError(f"a token name is 1 to {MAX_NAME_LENGTH} printable characters")
    return name


def pat_status(record: store.PatRecord, now: dt.datetime) -> str:
    """active, revoked or expired."""
    if record.revoked:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= now:
        return "expired"
    return "active"


def pat_to_dict(record: store.PatRecord, now: dt.datetime) -> dict[str, object]:
    """JSON-ready data for a token; the hash is left out."""
    return {
        "id": record.id,
        "user": record.owner,
        "name": record.name,
        "scopes": record.scopes.split(),
        "created_at": record.created_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "last_used_at": record.last_used_at.isoformat() if record.last_used_at else None,
        "status": pat_status(record, now),
    }


class PatService:
    """The one implementation of personal access tokens."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        hash_key: bytes = pats.DEFAULT_KEY,
        clock: Callable[[], dt.datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Use ``sessionmaker`` for the store; ``hash_key`` keys the stored hashes."""
        self._sessionmaker = sessionmaker
        self._key = hash_key
        self._clock = clock
        self.resolved: Cache[str, ValidPat] = Cache(
            ttl=REVALIDATE_AFTER, max_entries=CACHE_MAX_ENTRIES, clock=monotonic
        )

    async def create(
        self,
        owner: str,
        *,
        name: str,
        scopes: Sequence[str],
        expires_in: dt.timedelta | None,
    ) -> tuple[store.PatRecord, str]:
        """Create a token for ``owner``; return it and its secret (shown only once).

        ValueError (or CapError) for a bad name or scope, NotFound for an unknown owner.
        """
        label = check_token_name(name)
        caps = parse_caps(scopes)
        async with store.transaction(self._sessionmaker) as session:
            user = await store.get_user(session, normalize_username(owner))
            if user is None:
                raise store.NotFound(f"unknown user {owner!r}")
            return await self.create_in(session, user.id, label, caps, expires_in)

    async def create_in(
        self,
        session: AsyncSession,
        user_id: int,
        label: str,
        caps: Sequence[ScopeCap],
        expires_in: dt.timedelta | None,
    ) -> tuple[store.PatRecord, str]:
        """Store a token inside the caller's transaction (robots create user and token at once)."""
        secret = pats.new_secret()
        expires_at = self._clock() + expires_in if expires_in is not None else None
        pat_id = await store.create_pat(
            session,
            user_id=user_id,
            name=label,
            token_hash=pats.hash_secret(secret, self._key),
            scopes=format_caps(caps),
            expires_at=expires_at,
        )
        return await store.get_pat(session, pat_id), secret

    async def list(
        self, owner: str | None = None, *, after: int | None = None, limit: int | None = None
    ) -> list[store.PatRecord]:
        """Every token, or one user's (NotFound for an unknown user); a page after id ``after``."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            user_id = None
            if owner is not None:
                user = await store.get_user(session, normalize_username(owner))
                if user is None:
                    raise store.NotFound(f"unknown user {owner!r}")
                user_id = user.id
            return await store.list_pats(session, user_id, after=after, limit=limit)

    async def get(self, pat_id: int) -> store.PatRecord:
        """One token by id (NotFound)."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.get_pat(session, pat_id)

    async def revoke(self, pat_id: int, *, owner_id: int | None = None) -> store.PatRecord:
        """Revoke a token; with ``owner_id``, only one of that user's (else NotFound)."""
        async with store.transaction(self._sessionmaker) as session:
            record = await store.get_pat(session, pat_id)
            if owner_id is not None and record.user_id != owner_id:
                raise store.NotFound(f"unknown personal access token #{pat_id}")
            await store.revoke_pat(session, pat_id)
        return record

    def is_active(self, record: store.PatRecord) -> bool:
        """Not revoked and not expired."""
        expires = record.expires_at
        return not record.revoked and (expires is None or _as_utc(expires) > self._clock())

    async def resolve(self, secret: str) -> ValidPat:
        """The token behind a well-formed secret, or PatInvalid saying why not."""
        token_hash = pats.hash_secret(secret, self._key)
        valid = await self.resolved.get_or_load(token_hash, lambda: self._read(token_hash))
        if valid.expires_at is not None and valid.expires_at <= self._clock():
            raise PatInvalid("personal access token has expired")
        return valid

    async def _read(self, token_hash: str) -> ValidPat:
        now = self._clock()
        async with store.transaction(self._sessionmaker) as session:
            found = await store.get_pat_by_hash(session, token_hash)
            if found is None:
                raise PatInvalid("invalid username or password")
            record, user = found
            if record.revoked:
                raise PatInvalid("personal access token has been revoked")
            expires = _as_utc(record.expires_at) if record.expires_at is not None else None
            if expires is not None and expires <= now:
                raise PatInvalid("personal access token has expired")
            last = record.last_used_at
            if last is None or now - _as_utc(last) >= TOUCH_INTERVAL:
                await store.touch_pat(session, record.id, now)
        return ValidPat(record.id, user, parse_caps([record.scopes]), expires)
