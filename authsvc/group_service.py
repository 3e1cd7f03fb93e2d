"""Groups and their members: the one implementation behind ``authsvc group`` and the API."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.names import normalize_group_name
from authsvc.user_service import known_name


def group_to_dict(group: store.GroupRecord) -> dict[str, object]:
    """JSON-ready data for a group and its members."""
    return {
        "id": group.id,
        "name": group.name,
        "created_at": group.created_at.isoformat(),
        "members": list(group.members),
    }


def _group(name: str) -> str:
    """An existing group's normalised name; an invalid name is NotFound (no group has it)."""
    try:
        return normalize_group_name(name)
    except ValueError:
        raise store.NotFound(f"unknown group {name!r}") from None


class GroupService:
    """Create, list and delete groups; add and remove members. Names are normalised here."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Store in ``sessionmaker``'s database."""
        self._sessionmaker = sessionmaker

    async def add(self, name: str) -> store.GroupRecord:
        """Create a group (ValueError for an invalid name, Conflict if taken)."""
        async with store.transaction(self._sessionmaker) as session:
            return await store.create_group(session, normalize_group_name(name))

    async def get(self, name: str) -> store.GroupRecord:
        """One group and its members (NotFound, also for a name no group can have)."""
        name = _group(name)
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.get_group(session, name)

    async def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> list[store.GroupRecord]:
        """Groups by name with their members: all, or a page after the name ``after``."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.list_groups(session, after=after, limit=limit)

    async def delete(self, name: str) -> None:
        """Delete a group and its memberships."""
        async with store.transaction(self._sessionmaker) as session:
            await store.delete_group(session, _group(name))

    async def add_member(self, group: str, user: str) -> None:
        """Add a user to a group (NotFound for either, Conflict if already a member)."""
        group, user = _group(group), known_name(user)
        async with store.transaction(self._sessionmaker) as session:
            await store.add_member(session, group, user)

    async def remove_member(self, group: str, user: str) -> None:
        """Remove a user from a group (NotFound if not a member)."""
        group, user = _group(group), known_name(user)
        async with store.transaction(self._sessionmaker) as session:
            await store.remove_member(session, group, user)
