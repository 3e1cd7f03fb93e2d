"""Trusts of workload identity federation: add, list and delete them, and read them for logins.

One service layer for the CLI (``authsvc trust``) and the federation authenticator. The trusts
of an issuer are cached for a second at most, so that ``trust delete`` takes effect within a
second on every replica (as the ACL's rule cache does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.caps import format_caps
from authsvc.trusts import (
    Trust,
    TrustError,
    check_audience,
    check_issuer,
    check_name,
    check_ttl,
    parse_condition,
    parse_conditions,
    parse_grants,
)
from svckit.cache import Cache

TRUSTS_TTL = 1.0


def trust_from_record(record: store.TrustRecord) -> Trust:
    """Compile a stored trust (its patterns were validated when it was added)."""
    pairs = json.loads(record.conditions)
    return Trust(
        id=record.id,
        name=record.name,
        issuer=record.issuer,
        audience=record.audience,
        conditions=tuple(parse_condition(f"{claim}={pattern}") for claim, pattern in pairs),
        grants=parse_grants([record.grants]),
        ttl=record.ttl,
    )


def trust_to_dict(trust: Trust) -> dict[str, Any]:
    """The JSON form of ``trust list --json``."""
    return {
        "id": trust.id,
        "name": trust.name,
        "issuer": trust.issuer,
        "audience": trust.audience,
        "claims": [c.text for c in trust.conditions],
        "grants": [g.text for g in trust.grants],
        "ttl": trust.ttl,
        "subject": trust.subject,
    }


class TrustService:
    """Reads and writes trusts; ``of_issuer`` is what the authenticator calls per login."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, ttl: float = TRUSTS_TTL
    ) -> None:
        """Store in ``sessionmaker``'s database; keep an issuer's trusts ``ttl`` seconds."""
        self._sessionmaker = sessionmaker
        self.cache: Cache[None, tuple[Trust, ...]] = Cache(ttl=ttl, max_entries=1)

    async def add(
        self,
        name: str,
        *,
        issuer: str,
        audience: str,
        claims: Sequence[str],
        grants: Sequence[str],
        ttl: int | None = None,
    ) -> Trust:
        """Validate and store a trust (TrustError if invalid, store.Conflict if the name exists)."""
        name, issuer = check_name(name), check_issuer(issuer)
        audience, ttl = check_audience(audience), check_ttl(ttl)
        conditions = parse_conditions(claims)
        caps = parse_grants(grants)
        stored = json.dumps([[c.claim, c.pattern.text] for c in conditions])
        if len(stored) > 4096:
            raise TrustError("the claim conditions are longer than 4096 bytes in all")
        async with store.transaction(self._sessionmaker) as session:
            record = await store.create_trust(
                session,
                name=name,
                issuer=issuer,
                audience=audience,
                conditions=stored,
                grants=format_caps(caps),
                ttl=ttl,
            )
        self.cache.clear()
        return trust_from_record(record)

    async def list(self) -> list[Trust]:
        """Every trust in creation order."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            records = await store.list_trusts(session)
        return [trust_from_record(r) for r in records]

    async def delete(self, name: str) -> None:
        """Delete a trust (store.NotFound if there is none)."""
        async with store.transaction(self._sessionmaker) as session:
            await store.delete_trust(session, name)
        self.cache.clear()

    async def of_issuer(self, issuer: str) -> tuple[Trust, ...]:
        """The trusts of ``issuer`` in the order they are tried.

        The whole list is cached (``TRUSTS_TTL`` seconds) and filtered here, so a token naming
        an issuer nobody trusts costs no query, whatever the issuer.
        """
        trusts = await self.cache.get_or_load(None, self._load)
        return tuple(t for t in trusts if t.issuer == issuer)

    async def _load(self) -> tuple[Trust, ...]:
        return tuple(await self.list())
