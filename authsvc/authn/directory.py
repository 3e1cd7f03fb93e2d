"""Reading local users and their groups, with the cache as a decorator around the SQL reads.

The token endpoint and ``acl check`` both build identities through a ``UserDirectory``, so an
identity has the same groups whichever of the two asks.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from svckit.cache import Cache

# Group membership is read on every token request; a short cache spares a query per request and
# bounds how long a removed membership lingers (access tokens themselves live minutes).
GROUPS_TTL = 1.0
MAX_ENTRIES = 10_000


class UserDirectory(Protocol):
    """Where local users and their group memberships are read."""

    async def user(self, name: str) -> store.UserRecord | None:
        """The user named ``name`` (already normalised), or None."""
        ...

    async def groups(self, user_id: int) -> frozenset[str]:
        """The names of the groups the user belongs to."""
        ...


class SqlUserDirectory:
    """Reads users and groups from the SQL store, one short transaction per read."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read through ``sessionmaker``."""
        self._sessionmaker = sessionmaker

    async def user(self, name: str) -> store.UserRecord | None:
        """The user row, read now."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.get_user(session, name)

    async def groups(self, user_id: int) -> frozenset[str]:
        """The user's groups, read now."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.groups_of(session, user_id)


class CachedUserDirectory:
    """Shares concurrent user reads and keeps group lists for ``GROUPS_TTL`` seconds.

    The user row itself is never kept: a changed password or disabled flag must take effect at
    once. Concurrent requests for one user still share one query (clients fetch several tokens
    in parallel), so each sees a row read after it arrived or at most one query earlier.
    """

    def __init__(self, inner: UserDirectory, *, groups_ttl: float = GROUPS_TTL) -> None:
        """Wrap ``inner``."""
        self._inner = inner
        self.user_reads: Cache[str, store.UserRecord | None] = Cache(ttl=0)
        self.group_lists: Cache[int, frozenset[str]] = Cache(
            ttl=groups_ttl, max_entries=MAX_ENTRIES
        )

    async def user(self, name: str) -> store.UserRecord | None:
        """The user row (one query shared by concurrent callers)."""
        return await self.user_reads.get_or_load(name, lambda: self._inner.user(name))

    async def groups(self, user_id: int) -> frozenset[str]:
        """The user's groups, at most ``GROUPS_TTL`` seconds old."""
        return await self.group_lists.get_or_load(user_id, lambda: self._inner.groups(user_id))
