"""Personal access tokens: rows keyed by the keyed hash of the secret, with their owner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import PersonalAccessToken, User, utcnow
from authsvc.store.common import USER_COLUMNS, NotFound, UserRecord, flush, user_record


@dataclass(frozen=True, slots=True)
class PatRecord:
    """A stored token (never its secret); ``owner`` is the user's name."""

    id: int
    user_id: int
    owner: str
    name: str
    token_hash: str = field(repr=False)
    scopes: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked: bool


_COLUMNS = (
    PersonalAccessToken.id,
    PersonalAccessToken.user_id,
    User.name,
    PersonalAccessToken.name,
    PersonalAccessToken.token_hash,
    PersonalAccessToken.scopes,
    PersonalAccessToken.created_at,
    PersonalAccessToken.expires_at,
    PersonalAccessToken.last_used_at,
    PersonalAccessToken.revoked,
)


def _record(row: Sequence[Any]) -> PatRecord:
    return PatRecord(*row)


async def create_pat(
    session: AsyncSession,
    *,
    user_id: int,
    name: str,
    token_hash: str,
    scopes: str,
    expires_at: dt.datetime | None,
) -> int:
    """Store a token; return its id."""
    row = PersonalAccessToken(
        user_id=user_id,
        name=name,
        token_hash=token_hash,
        scopes=scopes,
        created_at=utcnow(),
        expires_at=expires_at,
        revoked=False,
    )
    session.add(row)
    await flush(session, "a token with this secret exists")
    return row.id


async def get_pat(session: AsyncSession, pat_id: int) -> PatRecord:
    """One token by id (NotFound if there is none)."""
    row = (
        await session.execute(
            select(*_COLUMNS)
            .join(User, User.id == PersonalAccessToken.user_id)
            .where(PersonalAccessToken.id == pat_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"unknown personal access token #{pat_id}")
    return _record(row)


async def get_pat_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[PatRecord, UserRecord] | None:
    """The token with this hash and its owner's row: one indexed query."""
    row = (
        await session.execute(
            select(*_COLUMNS, *USER_COLUMNS)
            .join(User, User.id == PersonalAccessToken.user_id)
            .where(PersonalAccessToken.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    return _record(row[: len(_COLUMNS)]), user_record(row[len(_COLUMNS) :])


async def list_pats(
    session: AsyncSession,
    user_id: int | None = None,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[PatRecord]:
    """All tokens, or one user's, oldest first; a page is ``limit`` ids after ``after``."""
    query = select(*_COLUMNS).join(User, User.id == PersonalAccessToken.user_id)
    if user_id is not None:
        query = query.where(PersonalAccessToken.user_id == user_id)
    if after is not None:
        query = query.where(PersonalAccessToken.id > after)
    rows = await session.execute(query.order_by(PersonalAccessToken.id).limit(limit))
    return [_record(row) for row in rows]


async def revoke_pat(session: AsyncSession, pat_id: int) -> None:
    """Mark a token revoked."""
    await session.execute(
        update(PersonalAccessToken).where(PersonalAccessToken.id == pat_id).values(revoked=True)
    )


async def touch_pat(session: AsyncSession, pat_id: int, when: dt.datetime) -> None:
    """Record a use."""
    await session.execute(
        update(PersonalAccessToken)
        .where(PersonalAccessToken.id == pat_id)
        .values(last_used_at=when)
    )


async def expire_pat(session: AsyncSession, pat_id: int, when: dt.datetime) -> None:
    """Make a token expire at ``when`` (sooner than it would have)."""
    await session.execute(
        update(PersonalAccessToken).where(PersonalAccessToken.id == pat_id).values(expires_at=when)
    )
