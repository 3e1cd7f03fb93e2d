"""ACL rules: the one implementation behind ``authsvc acl`` and ``/api/v1/acl``.

``check`` answers as the token endpoint would, through the endpoint's own objects
(``authsvc.explain``); a server passes its cached rule source, which every change here drops,
so a change is visible to the next token request on this replica at once (others within a
second, ``authsvc.authz.rules.RULES_TTL``).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import acl, store
from authsvc.authn.local import LocalAuthenticator
from authsvc.authz import AccessDecider, CachedRuleSource
from authsvc.errors import AuthError
from authsvc.explain import Explanation, explain
from authsvc.names import normalize_username
from authsvc.scope import parse_requested_scopes
from svckit.settings import SettingError, parse_duration

Position = tuple[Literal["before", "after"], int]


def parse_moment(value: str, what: str, now: dt.datetime) -> dt.datetime:
    """An RFC 3339 time with its offset (``2027-01-31T18:00:00Z``), or a duration from ``now``
    (``30d``, ``+12h``); ValueError naming ``what`` (the CLI's option or the API's field)."""
    text = value.strip()
    try:
        return now + dt.timedelta(seconds=parse_duration(text.removeprefix("+"), what))
    except SettingError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{what}: expected an RFC 3339 time such as 2027-01-31T18:00:00Z "
            f"or a duration such as 30d, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{what}: give the time zone, e.g. {text}Z or {text}+01:00")
    return moment.astimezone(dt.UTC)


class AclService:
    """Add, list, delete and check rules."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        decider: AccessDecider,
        local: LocalAuthenticator,
        cache: CachedRuleSource | None = None,
    ) -> None:
        """Store in ``sessionmaker``'s database; check with ``decider`` and ``local``'s lookups."""
        self._sessionmaker = sessionmaker
        self._decider = decider
        self._local = local
        self._cache = cache

    def _changed(self) -> None:
        if self._cache is not None:
            self._cache.invalidate()

    async def add(
        self,
        *,
        account: str,
        name: str,
        actions: Sequence[str],
        type: str = acl.DEFAULT_TYPE,
        service: str | None = None,
        effect: acl.Effect = "allow",
        priority: int | str = acl.DEFAULT_PRIORITY,
        comment: str | None = None,
        position: Position | None = None,
        valid_from: dt.datetime | None = None,
        valid_until: dt.datetime | None = None,
        filtered: bool = False,
    ) -> acl.AclRule:
        """Validate (RuleError) and store a rule, at ``priority`` or just before/after a rule.

        NotFound for an unknown anchor rule; Conflict when its neighbours share its priority.
        """
        async with store.transaction(self._sessionmaker) as session:
            if position is None:
                level = acl.parse_priority(priority)
            else:
                level = await self._priority_at(session, *position)
            rule = await store.add_rule(
                session, account=account, name=name, type=type, actions=actions,
                service=service, effect=effect, priority=level, comment=comment,
                valid_from=valid_from, valid_until=valid_until, filtered=filtered,
            )  # fmt: skip
        self._changed()
        return rule

    async def _priority_at(
        self, session: AsyncSession, where: Literal["before", "after"], anchor: int
    ) -> int:
        rules = await store.list_rules(session)
        index = next((i for i, r in enumerate(rules) if r.id == anchor), None)
        if index is None:
            raise store.NotFound(f"unknown rule #{anchor}")
        level = acl.priority_at(rules, index, where)
        if level is None:
            raise store.Conflict(
                f"no priority puts a rule {where} rule #{anchor} (its neighbours share its "
                "priority); give a priority instead"
            )
        return level

    async def get(self, rule_id: int) -> acl.AclRule:
        """One rule (NotFound)."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.get_rule(session, rule_id)

    async def list(self) -> list[acl.AclRule]:
        """Every rule in evaluation order."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.list_rules(session)

    async def delete(self, rule_id: int) -> acl.AclRule:
        """Delete a rule by id and return it (NotFound)."""
        async with store.transaction(self._sessionmaker) as session:
            rule = await store.delete_rule(session, rule_id)
        self._changed()
        return rule

    async def add_all(
        self, rules: Sequence[acl.AclRule], *, replace: bool
    ) -> builtins.list[acl.AclRule]:
        """Store parsed rules (all or nothing), after deleting every rule if ``replace``."""
        async with store.transaction(self._sessionmaker) as session:
            if replace:
                stored = await store.replace_rules(session, rules)
            else:
                stored = await store.add_rules(session, rules)
        self._changed()
        return stored

    async def check(
        self, account: str, scopes: Sequence[str], service: str | None = None
    ) -> Explanation:
        """What ``GET /auth`` would grant ``account`` (``@anonymous``: no credentials).

        ValueError naming the problem for an invalid account, scope or unknown service.
        """
        parsed = parse_requested_scopes(scopes)
        name: str | None = None
        if account != acl.ANONYMOUS:
            try:
                name = normalize_username(account)
            except ValueError as exc:
                raise ValueError(f"{exc} (use {acl.ANONYMOUS} for anonymous requests)") from None
        try:
            checked = self._decider.check_service(service or self._decider.services[0])
        except AuthError:
            known = ", ".join(self._decider.services)
            raise ValueError(
                f"unknown service {service!r} (this server issues for: {known})"
            ) from None
        return await explain(name, checked, parsed, self._local, self._decider)
