"""ACL rules: stored rows in, validated and compiled authsvc.acl.AclRule out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.acl import DEFAULT_PRIORITY, DEFAULT_TYPE, AclRule, Effect
from authsvc.models import AclRuleRow, utcnow
from authsvc.store.common import NotFound


def _rule(row: Sequence[Any]) -> AclRule:
    rid, priority, account, name, type_, service, actions, effect, comment, created_at = row[:10]
    valid_from, valid_until, filtered = row[10:]
    return AclRule(
        id=rid,
        priority=priority,
        account=account,
        name=name,
        type=type_,
        service=service,
        actions=tuple(a for a in actions.split(",") if a),
        effect=cast(Effect, effect),
        comment=comment,
        valid_from=valid_from,
        valid_until=valid_until,
        filtered=bool(filtered),
        created_at=created_at,
    )


_RULE_COLUMNS = (
    AclRuleRow.id,
    AclRuleRow.priority,
    AclRuleRow.account,
    AclRuleRow.name,
    AclRuleRow.type,
    AclRuleRow.service,
    AclRuleRow.actions,
    AclRuleRow.effect,
    AclRuleRow.comment,
    AclRuleRow.created_at,
    AclRuleRow.valid_from,
    AclRuleRow.valid_until,
    AclRuleRow.filtered,
)


async def add_rules(session: AsyncSession, rules: Sequence[AclRule]) -> list[AclRule]:
    """Store validated rules in the given order; return them with their ids."""
    now = utcnow()
    rows = [
        AclRuleRow(
            priority=rule.priority,
            account=rule.account,
            name=rule.name,
            type=rule.type,
            service=rule.service,
            actions=",".join(rule.actions),
            effect=rule.effect,
            comment=rule.comment,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
            filtered=rule.filtered,
            created_at=now,
        )
        for rule in rules
    ]
    for row in rows:
        # One flush per row keeps ids in file order on every backend.
        session.add(row)
        await session.flush()
    return [replace(rule, id=row.id, created_at=now) for rule, row in zip(rules, rows, strict=True)]


async def add_rule(
    session: AsyncSession,
    *,
    account: str,
    name: str,
    actions: Sequence[str],
    type: str = DEFAULT_TYPE,
    service: str | None = None,
    effect: Effect = "allow",
    priority: int = DEFAULT_PRIORITY,
    comment: str | None = None,
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    filtered: bool = False,
) -> AclRule:
    """Validate (RuleError) and store one rule; return it with its id."""
    rule = AclRule(
        valid_from=valid_from,
        valid_until=valid_until,
        filtered=filtered,
        priority=priority,
        account=account,
        name=name,
        type=type,
        service=service,
        actions=tuple(actions),
        effect=effect,
        comment=comment,
    )
    (stored,) = await add_rules(session, [rule])
    return stored


async def replace_rules(session: AsyncSession, rules: Sequence[AclRule]) -> list[AclRule]:
    """Delete every rule and store ``rules`` instead (``acl import --replace``)."""
    await session.execute(delete(AclRuleRow))
    return await add_rules(session, rules)


async def delete_rule(session: AsyncSession, rule_id: int) -> AclRule:
    """Delete one rule by id and return it (NotFound if there is none)."""
    row = (await session.execute(select(*_RULE_COLUMNS).where(AclRuleRow.id == rule_id))).first()
    if row is None:
        raise NotFound(f"unknown rule #{rule_id}")
    await session.execute(delete(AclRuleRow).where(AclRuleRow.id == rule_id))
    return _rule(row)


async def get_rule(session: AsyncSession, rule_id: int) -> AclRule:
    """One rule by id (NotFound if there is none)."""
    row = (await session.execute(select(*_RULE_COLUMNS).where(AclRuleRow.id == rule_id))).first()
    if row is None:
        raise NotFound(f"unknown rule #{rule_id}")
    return _rule(row)


async def list_rules(session: AsyncSession) -> list[AclRule]:
    """Every rule in evaluation order (priority, then id), compiled: one query."""
    rows = await session.execute(
        select(*_RULE_COLUMNS).order_by(AclRuleRow.priority, AclRuleRow.id)
    )
    return [_rule(row) for row in rows]
