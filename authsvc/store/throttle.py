"""Failed-login counts for throttling: one row per (user name, address) and per address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import LoginFailure


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """Consecutive failures for one key; ``username`` is empty for a per-address count."""

    username: str
    address: str
    failures: int
    last_failure_at: dt.datetime
    blocked_until: dt.datetime | None


def _record(row: LoginFailure) -> FailureRecord:
    return FailureRecord(
        row.username, row.address, row.failures, row.last_failure_at, row.blocked_until
    )


async def get_login_failures(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], FailureRecord]:
    """The rows for ``(username, address)`` keys that have any; missing keys have no failures."""
    if not keys:
        return {}
    rows = await session.scalars(
        select(LoginFailure).where(
            tuple_(LoginFailure.username, LoginFailure.address).in_(list(keys))
        )
    )
    return {(r.username, r.address): _record(r) for r in rows}


async def add_login_failure(
    session: AsyncSession,
    username: str,
    address: str,
    now: dt.datetime,
    delay_of: Callable[[int], float],
) -> FailureRecord:
    """Count one more failure for the key, atomically, and set its block from ``delay_of``.

    An ``INSERT ... ON CONFLICT DO UPDATE`` increments in one statement, so two replicas
    counting at once never lose a failure (SQLite 3.24+ and PostgreSQL share the syntax).
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(LoginFailure).values(
        username=username, address=address, failures=1, last_failure_at=now, blocked_until=None
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[LoginFailure.username, LoginFailure.address],
        set_={"failures": LoginFailure.failures + 1, "last_failure_at": now},
    ).returning(LoginFailure.failures)
    failures = int((await session.execute(upsert)).scalar_one())
    delay = delay_of(failures)
    blocked_until = now + dt.timedelta(seconds=delay) if delay > 0 else None
    if blocked_until is not None:
        await session.execute(
            update(LoginFailure)
            .where(LoginFailure.username == username, LoginFailure.address == address)
            .values(blocked_until=blocked_until)
        )
    return FailureRecord(username, address, failures, now, blocked_until)


async def reset_login_failures(session: AsyncSession, keys: Sequence[tuple[str, str]]) -> None:
    """Forget the failures of ``keys`` (after a successful login)."""
    if keys:
        await session.execute(
            delete(LoginFailure).where(
                tuple_(LoginFailure.username, LoginFailure.address).in_(list(keys))
            )
        )


async def list_login_failures(
    session: AsyncSession, *, blocked_at: dt.datetime | None = None
) -> list[FailureRecord]:
    """Every counted key, or only those blocked at ``blocked_at``; most recent failure first."""
    query = select(LoginFailure).order_by(
        LoginFailure.last_failure_at.desc(), LoginFailure.username, LoginFailure.address
    )
    if blocked_at is not None:
        query = query.where(LoginFailure.blocked_until > blocked_at)
    return [_record(r) for r in await session.scalars(query)]


async def clear_login_failures(
    session: AsyncSession, *, username: str | None = None, address: str | None = None
) -> int:
    """Delete the counts of a user (every address), an address (every user), both, or all."""
    stmt = delete(LoginFailure)
    if username is not None:
        stmt = stmt.where(LoginFailure.username == username)
    if address is not None:
        stmt = stmt.where(LoginFailure.address == address)
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_login_failures(session: AsyncSession, before: dt.datetime) -> int:
    """Forget keys whose last failure is older than ``before`` and that are not blocked now."""
    result = await session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_failure_at < before,
            (LoginFailure.blocked_until.is_(None)) | (LoginFailure.blocked_until < before),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
