"""Errors, records and helpers shared by the store modules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import RefreshToken, User


class StoreError(Exception):
    """Base class of the store's errors; the message is fit to show to an administrator."""


class NotFound(StoreError):
    """The named user, group, rule or token does not exist."""


class Conflict(StoreError):
    """The object already exists (or the change would break a uniqueness rule)."""


class StoreUnavailable(StoreError):
    """The database cannot be used right now (down, timed out, locked or not migrated)."""


class QueryFailed(StoreError):
    """The database refused a statement for a reason that retrying will not fix.

    For example missing privileges on a table, or a bug in a query. The message is one line
    without the statement or its parameters.
    """


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored; the password hash never appears in a repr."""

    id: int
    name: str
    password_hash: str = field(repr=False)
    admin: bool
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    last_login_at: dt.datetime | None
    # "local", or the identity backend that created the row at a first login ("ldap").
    source: str = "local"
    # The account's own access-token lifetime (seconds); None: the server's setting.
    token_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group and the names of its members, sorted."""

    id: int
    name: str
    created_at: dt.datetime
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    """A stored refresh token; ``subject`` is its user's name."""

    id: int
    user_id: int
    subject: str
    token_hash: str = field(repr=False)
    service: str
    client_id: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked: bool


USER_COLUMNS = (
    User.id,
    User.name,
    User.password_hash,
    User.admin,
    User.disabled,
    User.created_at,
    User.updated_at,
    User.last_login_at,
    User.source,
    User.token_ttl,
)
TOKEN_COLUMNS = (
    RefreshToken.id,
    RefreshToken.user_id,
    User.name,
    RefreshToken.token_hash,
    RefreshToken.service,
    RefreshToken.client_id,
    RefreshToken.created_at,
    RefreshToken.last_used_at,
    RefreshToken.expires_at,
    RefreshToken.revoked,
)


def user_record(row: Sequence[Any]) -> UserRecord:
    """A UserRecord from a row of USER_COLUMNS."""
    return UserRecord(*row)


def token_record(row: Sequence[Any]) -> RefreshTokenRecord:
    """A RefreshTokenRecord from a row of TOKEN_COLUMNS."""
    return RefreshTokenRecord(*row)


async def flush(session: AsyncSession, conflict: str) -> None:
    """Flush pending writes; a uniqueness violation becomes Conflict(conflict)."""
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent writer won a race that the caller's existence check could not see.
        raise Conflict(conflict) from None


async def user_id_of(session: AsyncSession, name: str) -> int:
    """The id of the named user (NotFound if there is none)."""
    user_id = await session.scalar(select(User.id).where(User.name == name))
    if user_id is None:
        raise NotFound(f"unknown user {name!r}")
    return user_id
