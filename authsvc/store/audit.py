"""The audit trail: batched inserts, filtered reads and the retention purge."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import AuditEvent
from svckit.logs import REQUEST_ID


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit row; every text field is empty when it does not apply. Never holds a secret."""

    at: dt.datetime
    event: str
    subject: str = ""
    address: str = ""
    service: str = ""
    client_id: str = ""
    user_agent: str = ""
    jti: str = ""
    requested: str = ""
    granted: str = ""
    rule: str = ""
    detail: str = ""
    # The request's id (svckit.logs), the same as on its log lines; empty outside a request.
    request_id: str = field(default_factory=REQUEST_ID.get)


_FIELDS = tuple(f.name for f in fields(AuditRecord))
# Column widths (models.AuditEvent): longer values are cut rather than refused, so one
# oversized user agent can never make a whole batch fail.
_WIDTHS = {name: getattr(AuditEvent, name).type.length for name in _FIELDS if name != "at"}


def _row(record: AuditRecord) -> dict[str, object]:
    # Shallow, by name: dataclasses.asdict deep-copies every field, which cost more per token
    # request than everything else the audit does (the fields are str and datetime).
    row = {name: getattr(record, name) for name in _FIELDS}
    for name, width in _WIDTHS.items():
        value = row[name]
        if isinstance(value, str) and len(value) > width:
            row[name] = value[: width - 1] + "…"
    return row


async def add_audit_events(session: AsyncSession, records: Sequence[AuditRecord]) -> None:
    """Insert ``records`` in one executemany round trip."""
    if records:
        # Core insert on the table, not the ORM-enabled one: with thousands of rows per batch the
        # ORM's bulk-persistence bookkeeping cost more CPU than the rows themselves.
        table = cast(Table, AuditEvent.__table__)
        await session.execute(insert(table), [_row(r) for r in records])


async def list_audit_events(
    session: AsyncSession,
    *,
    since: dt.datetime | None = None,
    subject: str | None = None,
    event: str | None = None,
    limit: int = 1000,
) -> list[AuditRecord]:
    """The newest ``limit`` rows that match, oldest first."""
    columns = [getattr(AuditEvent, name) for name in _FIELDS]
    query = select(*columns).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if subject is not None:
        query = query.where(AuditEvent.subject == subject)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    rows = (await session.execute(query)).all()
    return [AuditRecord(*row) for row in reversed(rows)]


async def purge_audit_events(session: AsyncSession, before: dt.datetime) -> int:
    """Delete the rows older than ``before`` (the retention period); return how many."""
    result = await session.execute(delete(AuditEvent).where(AuditEvent.at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
