"""Where the ordered ACL comes from: the SQL store, and a cache decorator in front of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.acl import AclRule
from svckit.cache import Cache

# The rule list is read on every token request. Holding it for a second keeps a query and the
# pattern compilation off the hot path, while a changed rule takes effect within that second,
# long before any token issued under the old rule (ttl >= 60 s) expires anyway.
RULES_TTL = 1.0


class RuleSource(Protocol):
    """Supplies the rules in evaluation order (priority, then id)."""

    async def rules(self) -> Sequence[AclRule]:
        """The current rules."""
        ...


class SqlRuleSource:
    """Reads the rules from the SQL store on every call."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read through ``sessionmaker``."""
        self._sessionmaker = sessionmaker

    async def rules(self) -> Sequence[AclRule]:
        """The rules as stored now."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return tuple(await store.list_rules(session))


class CachedRuleSource:
    """Keeps the rule list for ``ttl`` seconds; concurrent reloads share one query."""

    def __init__(self, inner: RuleSource, *, ttl: float = RULES_TTL) -> None:
        """Wrap ``inner``; ``ttl`` 0 reads the rules on every request."""
        self._inner = inner
        self.cache: Cache[None, Sequence[AclRule]] = Cache(ttl=ttl, max_entries=1)

    async def rules(self) -> Sequence[AclRule]:
        """The cached rules, reloaded when older than ``ttl``."""
        return await self.cache.get_or_load(None, self._inner.rules)

    def invalidate(self) -> None:
        """Drop the cached rules; the next request reads them again."""
        self.cache.clear()
