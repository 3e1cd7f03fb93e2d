"""Trusts of workload identity federation: stored rows in, frozen records out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import TrustRow, utcnow
from authsvc.store.common import NotFound, flush


@dataclass(frozen=True, slots=True)
class TrustRecord:
    """A trust as stored: conditions as JSON text, grants space-separated."""

    id: int
    name: str
    issuer: str
    audience: str
    conditions: str
    grants: str
    ttl: int | None
    created_at: dt.datetime


_COLUMNS = (
    TrustRow.id,
    TrustRow.name,
    TrustRow.issuer,
    TrustRow.audience,
    TrustRow.conditions,
    TrustRow.grants,
    TrustRow.ttl,
    TrustRow.created_at,
)


def _record(row: Sequence[Any]) -> TrustRecord:
    return TrustRecord(*row)


async def create_trust(
    session: AsyncSession,
    *,
    name: str,
    issuer: str,
    audience: str,
    conditions: str,
    grants: str,
    ttl: int | None,
) -> TrustRecord:
    """Store a trust (Conflict if the name is taken)."""
    row = TrustRow(
        name=name,
        issuer=issuer,
        audience=audience,
        conditions=conditions,
        grants=grants,
        ttl=ttl,
        created_at=utcnow(),
    )
    session.add(row)
    await flush(session, f"trust {name!r} already exists")
    return TrustRecord(row.id, name, issuer, audience, conditions, grants, ttl, row.created_at)


async def list_trusts(session: AsyncSession, issuer: str | None = None) -> list[TrustRecord]:
    """Every trust (or those of one issuer) in creation order, the order they are tried in."""
    query = select(*_COLUMNS).order_by(TrustRow.id)
    if issuer is not None:
        query = query.where(TrustRow.issuer == issuer)
    return [_record(row) for row in (await session.execute(query)).all()]


async def delete_trust(session: AsyncSession, name: str) -> None:
    """Delete a trust by name (NotFound if there is none)."""
    result = await session.execute(delete(TrustRow).where(TrustRow.name == name))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"unknown trust {name!r}")
