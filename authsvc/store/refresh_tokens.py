"""Refresh tokens: stored as SHA-256 hashes, looked up with their user in one query."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import RefreshToken, User, utcnow
from authsvc.store.common import (
    TOKEN_COLUMNS,
    USER_COLUMNS,
    NotFound,
    RefreshTokenRecord,
    UserRecord,
    flush,
    token_record,
    user_id_of,
    user_record,
)


async def create_refresh_token(
    session: AsyncSession,
    *,
    user_id: int,
    token_hash: str,
    service: str,
    client_id: str,
    expires_at: dt.datetime,
    created_at: dt.datetime | None = None,
) -> RefreshTokenRecord:
    """Store a refresh token's hash for a user (NotFound if the user is gone)."""
    subject = await session.scalar(select(User.name).where(User.id == user_id))
    if subject is None:
        raise NotFound(f"unknown user id {user_id}")
    token = RefreshToken(
        user_id=user_id,
        token_hash=token_hash,
        service=service,
        client_id=client_id,
        created_at=created_at or utcnow(),
        expires_at=expires_at,
        revoked=False,
    )
    session.add(token)
    await flush(session, "a refresh token with this hash already exists")
    return RefreshTokenRecord(
        token.id,
        user_id,
        subject,
        token_hash,
        service,
        client_id,
        token.created_at,
        None,
        expires_at,
        False,
    )


async def get_refresh_token_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[RefreshTokenRecord, UserRecord] | None:
    """The token with this hash and its user, in one joined query.

    Every refresh grant starts here, so one indexed round trip instead of two matters.
    """
    row = (
        await session.execute(
            select(*TOKEN_COLUMNS, *USER_COLUMNS)
            .join(User, User.id == RefreshToken.user_id)
            .where(RefreshToken.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    width = len(TOKEN_COLUMNS)
    return token_record(row[:width]), user_record(row[width:])


async def touch_refresh_token(session: AsyncSession, token_id: int, when: dt.datetime) -> None:
    """Record that a token was used at ``when``."""
    await session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id).values(last_used_at=when)
    )


async def list_refresh_tokens(
    session: AsyncSession, user: str | None = None
) -> list[RefreshTokenRecord]:
    """All refresh tokens, or one user's (NotFound for an unknown user), oldest first."""
    query = select(*TOKEN_COLUMNS).join(User, User.id == RefreshToken.user_id)
    if user is not None:
        query = query.where(RefreshToken.user_id == await user_id_of(session, user))
    rows = await session.execute(query.order_by(RefreshToken.id))
    return [token_record(row) for row in rows]


async def revoke_refresh_token(session: AsyncSession, token_id: int) -> RefreshTokenRecord:
    """Revoke one token by id and return it (NotFound if there is none)."""
    row = (
        await session.execute(
            select(*TOKEN_COLUMNS)
            .join(User, User.id == RefreshToken.user_id)
            .where(RefreshToken.id == token_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"unknown refresh token #{token_id}")
    await session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id).values(revoked=True)
    )
    return token_record(row)


async def revoke_tokens_of(session: AsyncSession, user_id: int) -> int:
    """Revoke every live refresh token of a user id; return how many were revoked."""
    ids = list(
        await session.scalars(
            select(RefreshToken.id).where(
                RefreshToken.user_id == user_id, RefreshToken.revoked.is_(False)
            )
        )
    )
    if ids:
        await session.execute(
            update(RefreshToken).where(RefreshToken.id.in_(ids)).values(revoked=True)
        )
    return len(ids)


async def revoke_user_refresh_tokens(session: AsyncSession, name: str) -> int:
    """Revoke every live refresh token of a user; return how many were revoked."""
    return await revoke_tokens_of(session, await user_id_of(session, name))
