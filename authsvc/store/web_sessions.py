"""Browser sessions of the account page: rows keyed by the SHA-256 of the cookie's secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import WebSession, utcnow


@dataclass(frozen=True, slots=True)
class WebSessionRecord:
    """A stored session; ``user_id`` is None while a sign-in is still in progress."""

    id: int
    user_id: int | None
    csrf: str = field(repr=False)
    pending: str | None = field(repr=False)
    expires_at: dt.datetime


_COLUMNS = (
    WebSession.id,
    WebSession.user_id,
    WebSession.csrf,
    WebSession.pending,
    WebSession.expires_at,
)


async def create_web_session(
    session: AsyncSession,
    token_hash: str,
    *,
    user_id: int | None,
    csrf: str,
    pending: str | None,
    expires_at: dt.datetime,
) -> WebSessionRecord:
    """Store a new session (or sign-in in progress) under ``token_hash``."""
    row = WebSession(
        token_hash=token_hash,
        user_id=user_id,
        csrf=csrf,
        pending=pending,
        created_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return WebSessionRecord(row.id, user_id, csrf, pending, expires_at)


async def get_web_session(session: AsyncSession, token_hash: str) -> WebSessionRecord | None:
    """The unexpired session stored under ``token_hash``, if any."""
    row = (
        await session.execute(
            select(*_COLUMNS).where(
                WebSession.token_hash == token_hash, WebSession.expires_at > utcnow()
            )
        )
    ).first()
    return None if row is None else WebSessionRecord(*row)


async def take_web_session(session: AsyncSession, token_hash: str) -> WebSessionRecord | None:
    """Delete the session stored under ``token_hash`` and return it if it was live (single use).

    The delete decides: of two concurrent callbacks presenting the same sign-in, only the one
    whose delete removed the row goes on, so a replayed callback finds nothing.
    """
    record = await get_web_session(session, token_hash)
    if record is None:
        return None
    result = await session.execute(delete(WebSession).where(WebSession.id == record.id))
    return record if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def delete_web_session(session: AsyncSession, token_hash: str) -> None:
    """Forget a session (sign-out)."""
    await session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))


async def end_web_sessions_of(session: AsyncSession, user_id: int) -> None:
    """Forget every session of a user (the user was disabled or deleted)."""
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))


async def purge_expired_web_sessions(session: AsyncSession) -> int:
    """Delete expired rows; return how many."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]
