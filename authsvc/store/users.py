"""Users: lookup, creation, password and state changes, login bookkeeping."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import MIN_TOKEN_TTL, DirectoryGroup, GroupMember, RefreshToken, User, utcnow
from authsvc.names import normalize_username
from authsvc.store.common import (
    USER_COLUMNS,
    Conflict,
    UserRecord,
    flush,
    user_id_of,
    user_record,
)
from authsvc.store.refresh_tokens import revoke_tokens_of


async def ping(session: AsyncSession) -> None:
    """Prove that the database answers, takes writes and is migrated (for /readyz).

    The UPDATE matches no row but still needs the write lock (SQLite) or a writable
    transaction (a PostgreSQL standby refuses it), so a database that reads but cannot write,
    where logins would fail on their bookkeeping, is not reported ready. The caller rolls back.
    """
    await session.execute(select(RefreshToken.id).limit(1))
    await session.execute(update(User).where(User.id < 0).values(name=User.name))


async def get_user(session: AsyncSession, name: str) -> UserRecord | None:
    """Look a user up by (already normalised) name: one indexed query."""
    row = (await session.execute(select(*USER_COLUMNS).where(User.name == name))).first()
    return None if row is None else user_record(row)


async def get_user_by_id(session: AsyncSession, user_id: int) -> UserRecord | None:
    """Look a user up by id (a browser session stands for an id)."""
    row = (await session.execute(select(*USER_COLUMNS).where(User.id == user_id))).first()
    return None if row is None else user_record(row)


async def create_user(
    session: AsyncSession,
    name: str,
    password_hash: str,
    admin: bool = False,
    *,
    token_ttl: int | None = None,
) -> UserRecord:
    """Create a user (the name is normalised; ValueError if invalid, Conflict if taken)."""
    name = normalize_username(name)
    if await get_user(session, name) is not None:
        raise Conflict(f"user {name!r} already exists")
    return await insert_user(session, name, password_hash, admin=admin, token_ttl=token_ttl)


def check_token_ttl(token_ttl: int | None) -> int | None:
    """A per-account lifetime: None (the server's) or whole seconds, at least MIN_TOKEN_TTL."""
    if token_ttl is not None and (isinstance(token_ttl, bool) or token_ttl < MIN_TOKEN_TTL):
        raise ValueError(f"token TTL must be at least {MIN_TOKEN_TTL} seconds, got {token_ttl}")
    return token_ttl


async def insert_user(
    session: AsyncSession,
    name: str,
    password_hash: str,
    *,
    admin: bool,
    source: str = "local",
    token_ttl: int | None = None,
) -> UserRecord:
    """Insert an enabled user row for an already normalised, free name (Conflict on a race)."""
    token_ttl = check_token_ttl(token_ttl)
    now = utcnow()
    user = User(
        name=name,
        password_hash=password_hash,
        admin=admin,
        disabled=False,
        created_at=now,
        updated_at=now,
        source=source,
        token_ttl=token_ttl,
    )
    session.add(user)
    await flush(session, f"user {name!r} already exists")
    return UserRecord(user.id, name, password_hash, admin, False, now, now, None, source, token_ttl)


async def list_users_of_source(
    session: AsyncSession, source: str, *, after: str | None = None, limit: int | None = None
) -> list[UserRecord]:
    """The users that one backend created (``robot``, ``ldap``, …), by name (a page of them)."""
    query = select(*USER_COLUMNS).where(User.source == source)
    return await _user_page(session, query, after, limit)


async def list_users(
    session: AsyncSession, *, after: str | None = None, limit: int | None = None
) -> list[UserRecord]:
    """All users by name, or the ``limit`` first after the name ``after`` (keyset paging)."""
    return await _user_page(session, select(*USER_COLUMNS), after, limit)


async def _user_page(
    # Any: the statement's row type differs between callers (SQLAlchemy types it per column).
    session: AsyncSession,
    query: Any,
    after: str | None,
    limit: int | None,
) -> list[UserRecord]:
    if after is not None:
        query = query.where(User.name > after)
    rows = await session.execute(query.order_by(User.name).limit(limit))
    return [user_record(row) for row in rows]


async def count_users(session: AsyncSession) -> int:
    """The number of users (``make run`` creates the admin when it is 0)."""
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def set_password_hash(session: AsyncSession, name: str, password_hash: str) -> int:
    """Replace a user's password hash and revoke their refresh tokens; return how many."""
    user_id = await user_id_of(session, name)
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, updated_at=utcnow())
    )
    return await revoke_tokens_of(session, user_id)


async def set_disabled(session: AsyncSession, name: str, disabled: bool) -> int:
    """Disable or enable a user; disabling revokes their refresh tokens (returns how many)."""
    user_id = await user_id_of(session, name)
    await session.execute(
        update(User).where(User.id == user_id).values(disabled=disabled, updated_at=utcnow())
    )
    return await revoke_tokens_of(session, user_id) if disabled else 0


async def set_token_ttl(session: AsyncSession, name: str, token_ttl: int | None) -> None:
    """Set a user's (or robot's) access-token lifetime; None returns to the server's."""
    token_ttl = check_token_ttl(token_ttl)
    user_id = await user_id_of(session, name)
    await session.execute(
        update(User).where(User.id == user_id).values(token_ttl=token_ttl, updated_at=utcnow())
    )


async def delete_user(session: AsyncSession, name: str) -> None:
    """Delete a user with their group memberships and refresh tokens."""
    user_id = await user_id_of(session, name)
    # Explicit deletes rather than relying on ON DELETE CASCADE, which SQLite only honours
    # on connections that enabled foreign keys.
    await session.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))
    await session.execute(delete(GroupMember).where(GroupMember.user_id == user_id))
    await session.execute(delete(DirectoryGroup).where(DirectoryGroup.user_id == user_id))
    await session.execute(delete(User).where(User.id == user_id))


async def record_login(
    session: AsyncSession,
    user_id: int,
    when: dt.datetime,
    new_hash: str | None,
    *,
    expected_hash: str | None = None,
) -> None:
    """Note a successful login; store ``new_hash`` (a rehash of the same password) if given.

    With ``expected_hash`` the rehash is applied only if the stored hash is still that one, so a
    password changed meanwhile is never overwritten by a rehash of the old password.
    """
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=when))
    if new_hash is not None:
        condition = User.id == user_id
        if expected_hash is not None:
            condition = condition & (User.password_hash == expected_hash)
        await session.execute(
            update(User).where(condition).values(password_hash=new_hash, updated_at=when)
        )
