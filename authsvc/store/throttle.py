"""Failed-login counters (``login_failures``): read, count up, clear, list the blocked ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from authsvc.models import LoginFailure


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """One counter."""

    key: str
    failures: int
    last_failure_at: dt.datetime
    blocked_until: dt.datetime | None


_COLUMNS = (
    LoginFailure.key,
    LoginFailure.failures,
    LoginFailure.last_failure_at,
    LoginFailure.blocked_until,
)


async def get_failures(session: AsyncSession, keys: Sequence[str]) -> dict[str, FailureRecord]:
    """The counters of ``keys`` that exist."""
    rows = await session.execute(select(*_COLUMNS).where(LoginFailure.key.in_(list(keys))))
    return {row[0]: FailureRecord(*row) for row in rows}


async def count_failure(
    session: AsyncSession,
    key: str,
    now: dt.datetime,
    *,
    reset_before: dt.datetime,
    block_for: Callable[[int], float],
) -> FailureRecord:
    """Add one failure to ``key`` (a count older than ``reset_before`` starts again at one)."""
    for _ in range(2):
        row = (await session.execute(select(*_COLUMNS).where(LoginFailure.key == key))).first()
        if row is None:
            record = FailureRecord(key, 1, now, _until(now, block_for(1)))
            try:
                async with session.begin_nested():
                    session.add(LoginFailure(**_fields(record)))
                    await session.flush()
            except IntegrityError:
                continue  # a concurrent failure created it: count on the existing row
            return record
        current = FailureRecord(*row)
        failures = 1 if current.last_failure_at < reset_before else current.failures + 1
        record = FailureRecord(key, failures, now, _until(now, block_for(failures)))
        await session.execute(
            update(LoginFailure)
            .where(LoginFailure.key == key)
            .values(
                failures=record.failures,
                last_failure_at=now,
                blocked_until=record.blocked_until,
            )
        )
        return record
    raise RuntimeError("login_failures: the row kept changing")  # pragma: no cover


def _fields(record: FailureRecord) -> dict[str, object]:
    return {
        "key": record.key,
        "failures": record.failures,
        "last_failure_at": record.last_failure_at,
        "blocked_until": record.blocked_until,
    }


def _until(now: dt.datetime, seconds: float) -> dt.datetime | None:
    return now + dt.timedelta(seconds=seconds) if seconds > 0 else None


async def clear_failures(session: AsyncSession, keys: Sequence[str]) -> int:
    """Forget the counters of ``keys``; return how many existed."""
    result = await session.execute(delete(LoginFailure).where(LoginFailure.key.in_(list(keys))))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def clear_matching(session: AsyncSession, *, user: str | None, address: str | None) -> int:
    """Forget counters naming ``user`` (at any address) and/or ``address`` (any user)."""
    conditions: list[ColumnElement[bool]] = []
    if user is not None:
        conditions.append(LoginFailure.key.like(f"user:{_escape(user)}@%", escape="\\"))
    if address is not None:
        conditions.append(LoginFailure.key == f"address:{address}")
        conditions.append(LoginFailure.key.like(f"user:%@{_escape(address)}", escape="\\"))
    if not conditions:
        result = await session.execute(delete(LoginFailure))
    else:
        result = await session.execute(delete(LoginFailure).where(or_(*conditions)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_blocked(session: AsyncSession, now: dt.datetime) -> list[FailureRecord]:
    """Counters that block logins now, the longest block first."""
    rows = await session.execute(
        select(*_COLUMNS)
        .where(LoginFailure.blocked_until > now)
        .order_by(LoginFailure.blocked_until.desc())
    )
    return [FailureRecord(*row) for row in rows]


async def purge_failures(session: AsyncSession, before: dt.datetime) -> int:
    """Delete counters whose last failure is older than ``before`` and that block nothing."""
    result = await session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_failure_at < before,
            or_(LoginFailure.blocked_until.is_(None), LoginFailure.blocked_until < before),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
