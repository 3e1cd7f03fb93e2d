"""ACL files shaped like docker_auth's ``acl:`` list, for ``acl import`` and ``acl export``.

A file holds the rules in evaluation order::

    acl:
      - match: {account: admin}
        actions: ["*"]
        comment: admin may do everything
      - match: {account: "/.+/", name: "${account}/*"}
        actions: [pull, push]
      - match: {account: "", name: "public/*"}    # "" is docker_auth's anonymous
        actions: [pull]
      - match: {account: "*", name: "secret/*"}
        actions: []                                # docker_auth: empty actions deny

Mapping to our rules:

- ``match`` keys ``account``, ``type``, ``name`` and ``service`` become the rule's patterns. A
  missing key matches anything, as in docker_auth: ``*`` for account, type and name, no service
  pattern. docker_auth's ``ip`` and ``labels`` keys are rejected rather than ignored, because
  ignoring a condition would widen the rule.
- ``account: ""`` (docker_auth's anonymous user) and ``account: "@anonymous"`` both become
  ``@anonymous``. A missing account becomes ``*``, which unlike docker_auth does not match
  anonymous requests; add an explicit ``@anonymous`` rule for public access.
- ``actions: []`` is a deny rule, which is exactly what docker_auth does with a matching rule that
  allows nothing. Non-empty actions make an allow rule.
- ``priority`` (our addition, optional) sets the rule's priority; without it every imported rule
  gets the default priority, so the file order is the evaluation order.
- Glob and regex meaning follows authsvc.acl: ``*`` also crosses ``/`` and regexes are anchored.
- ``valid_from`` / ``valid_until`` (our addition, optional) give the rule's validity window as
  RFC 3339 times with their offset (``2027-01-31T18:00:00Z``); outside it the rule is skipped.
- ``filtered: true`` (our addition) on a ``{type: registry, name: catalog}`` allow rule grants
  the catalog filtered to the repositories the account may pull.

``export`` writes the same shape with every key spelled out, and ``parse`` reads it back to equal
rules, so export followed by ``import --replace`` is a faithful backup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import yaml

from authsvc.acl import ANONYMOUS, DEFAULT_PRIORITY, AclRule, RuleError, format_time

_MATCH_KEYS = ("account", "type", "name", "service")
_ENTRY_KEYS = ("match", "actions", "comment", "priority", "valid_from", "valid_until", "filtered")


def _as_time(value: object, where: str) -> dt.datetime | None:
    """An RFC 3339 time with an offset; YAML may already have parsed it into a datetime."""
    if value is None:
        return None
    moment: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise RuleError(f"{where}: expected an RFC 3339 time with its offset, got {value!r}")
    return moment.astimezone(dt.UTC)


def _as_text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise RuleError(f"{where}: expected a string, got {value!r}")
    return str(value)


def _rule_from_entry(entry: object, where: str) -> AclRule:
    if not isinstance(entry, dict):
        raise RuleError(f"{where}: expected a mapping with match and actions")
    unknown = sorted(str(k) for k in entry if k not in _ENTRY_KEYS)
    if unknown:
        raise RuleError(f"{where}: unsupported key(s): {', '.join(unknown)}")
    match = entry.get("match") or {}
    if not isinstance(match, dict):
        raise RuleError(f"{where}.match: expected a mapping")
    unsupported = sorted(str(k) for k in match if k not in _MATCH_KEYS)
    if unsupported:
        raise RuleError(
            f"{where}.match: unsupported condition(s): {', '.join(unsupported)} "
            f"(supported: {', '.join(_MATCH_KEYS)})"
        )
    fields = {k: _as_text(match[k], f"{where}.match.{k}") for k in _MATCH_KEYS if k in match}
    account = fields.get("account", "*")
    if "actions" not in entry:
        raise RuleError(f"{where}: actions is required (use [] to deny)")
    actions = entry["actions"]
    if not isinstance(actions, list):
        raise RuleError(f"{where}.actions: expected a list")
    action_names = tuple(_as_text(a, f"{where}.actions") for a in actions)
    comment = entry.get("comment")
    filtered = entry.get("filtered", False)
    if not isinstance(filtered, bool):
        raise RuleError(f"{where}.filtered: expected true or false")
    valid_from = _as_time(entry.get("valid_from"), f"{where}.valid_from")
    valid_until = _as_time(entry.get("valid_until"), f"{where}.valid_until")
    try:
        return AclRule(
            priority=entry.get("priority", DEFAULT_PRIORITY),
            account=ANONYMOUS if account == "" else account,
            type=fields.get("type", "*"),
            name=fields.get("name", "*"),
            service=fields.get("service"),
            actions=action_names,
            effect="allow" if action_names else "deny",
            comment=None if comment is None else _as_text(comment, f"{where}.comment"),
            valid_from=valid_from,
            valid_until=valid_until,
            filtered=filtered,
        )
    except RuleError as exc:
        raise RuleError(f"{where}: {exc}") from None


def parse(text: str) -> list[AclRule]:
    """Parse an ACL file into unsaved rules (id None), in file order; RuleError on any mistake."""
    try:
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise RuleError(f"invalid YAML: {detail}") from None
    if not isinstance(doc, dict) or "acl" not in doc:
        raise RuleError("expected a mapping with an 'acl' list at the top level")
    entries = doc["acl"]
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise RuleError("acl: expected a list of rules")
    return [_rule_from_entry(entry, f"acl[{i}]") for i, entry in enumerate(entries)]


def export(rules: Sequence[AclRule]) -> str:
    """Render rules (in evaluation order) as an ACL file that ``parse`` reads back."""
    entries: list[dict[str, object]] = []
    for rule in rules:
        match: dict[str, str] = {"account": rule.account, "type": rule.type, "name": rule.name}
        if rule.service is not None:
            match["service"] = rule.service
        entry: dict[str, object] = {
            "match": match,
            "actions": list(rule.actions),
            "priority": rule.priority,
        }
        if rule.comment is not None:
            entry["comment"] = rule.comment
        if rule.valid_from is not None:
            entry["valid_from"] = format_time(rule.valid_from)
        if rule.valid_until is not None:
            entry["valid_until"] = format_time(rule.valid_until)
        if rule.filtered:
            entry["filtered"] = True
        entries.append(entry)
    return yaml.safe_dump({"acl": entries}, sort_keys=False, allow_unicode=True)
