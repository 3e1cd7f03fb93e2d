"""ACL rules and their evaluation: pure code, shared by the token endpoint and ``acl check``.

Semantics (after docker_auth's ``authz/acl.go``, which users migrate from):

- Rules are evaluated in order of ``priority``, then ``id`` (``store.list_rules`` returns them in
  that order); the first rule that matches the request decides, and no match grants nothing.
- A rule matches when its account, type, name and service patterns all match. Actions do not take
  part in matching: a rule that matches but allows none of the requested actions still decides.
- A pattern is a glob (``*`` any run of characters, ``/`` included; ``?`` one character;
  ``[...]`` / ``[!...]`` a class) or a ``/regex/``. Both are anchored to the whole value and
  compiled once. docker_auth differs on two points: its ``*`` stops at ``/`` (Go's path.Match)
  and its regexes are unanchored; here ``*`` alone means "everything" and ``/foo/`` means exactly
  ``foo``.
- ``${account}`` in a name pattern expands to the requesting user's name, escaped, so that
  ``${account}/*`` gives every user a namespace of their own.
- An account pattern ``group:NAME`` matches the members of group NAME.
- Anonymous requests match only rules whose account pattern is the literal ``@anonymous``; no
  glob or regex matches them, so ``*`` never grants anonymous access by accident.
- A matching ``deny`` rule grants nothing and ends the evaluation.
- The grant is the requested actions that the rule allows, in the requested order; ``*`` allowed
  means every requested action.
- A rule whose pattern cannot be evaluated for a request (only conceivable for a pathological
  ``/regex/`` around ``${account}``) decides that request with nothing granted: it fails closed.
- A rule may have a validity window (``valid_from`` inclusive, ``valid_until`` exclusive). Outside
  it the rule is skipped as if it did not exist; the window is checked at decision time, so a
  rule stops granting when its window ends, whatever caches hold the rule list.
- A ``filtered`` rule (type ``registry``, name ``catalog``) grants the catalog together with the
  list of repositories the account may pull (``authsvc.authz.catalog``), instead of all of it.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

# Re-exported: RuleError is every rule error, and callers size fields by MAX_PATTERN_LENGTH.
from authsvc.acl_patterns import ACCOUNT_VAR as ACCOUNT_VAR
from authsvc.acl_patterns import MAX_PATTERN_LENGTH as MAX_PATTERN_LENGTH
from authsvc.acl_patterns import Pattern as Pattern
from authsvc.acl_patterns import RuleError as RuleError
from authsvc.acl_patterns import compile_pattern as compile_pattern
from authsvc.names import normalize_group_name
from authsvc.scope import Scope

ACTIONS = ("pull", "push", "delete", "*")
EFFECTS = ("allow", "deny")
ANONYMOUS = "@anonymous"
GROUP_PREFIX = "group:"
DEFAULT_TYPE = "repository"
DEFAULT_PRIORITY = 100
MIN_PRIORITY = -1_000_000
MAX_PRIORITY = 1_000_000
MAX_COMMENT_LENGTH = 1024
CATALOG_TYPE, CATALOG_NAME = "registry", "catalog"

Effect = Literal["allow", "deny"]


def parse_actions(values: Iterable[str]) -> tuple[str, ...]:
    """Validate action names (comma-separated strings allowed); ``*`` subsumes the others."""
    actions: list[str] = []
    for value in values:
        for raw in value.split(","):
            action = raw.strip()
            if not action:
                continue
            if action not in ACTIONS:
                raise RuleError(f"actions: unknown action {action!r} (use {', '.join(ACTIONS)})")
            if action not in actions:
                actions.append(action)
    return ("*",) if "*" in actions else tuple(actions)


def parse_priority(value: str | int) -> int:
    """Validate a priority (an integer between MIN_PRIORITY and MAX_PRIORITY)."""
    if isinstance(value, bool):
        raise RuleError(f"priority: expected an integer, got {value!r}")
    try:
        priority = value if isinstance(value, int) else int(str(value).strip(), 10)
    except ValueError:
        raise RuleError(f"priority: expected an integer, got {value!r}") from None
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise RuleError(f"priority: must be between {MIN_PRIORITY} and {MAX_PRIORITY}")
    return priority


@dataclass(frozen=True, slots=True, kw_only=True)
class AclRule:
    """One rule; constructing it validates and compiles it (RuleError when invalid)."""

    id: int | None = None
    priority: int = DEFAULT_PRIORITY
    account: str
    name: str
    type: str = DEFAULT_TYPE
    service: str | None = None
    actions: tuple[str, ...] = ()
    effect: Effect = "allow"
    comment: str | None = None
    # The validity window: the rule applies from valid_from (inclusive) until valid_until
    # (exclusive); None leaves that side open.
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    # Grant the catalog filtered to what the account may pull (type registry, name catalog).
    filtered: bool = False
    created_at: dt.datetime | None = field(default=None, compare=False)
    # Compiled forms, derived in __post_init__.
    _group: str | None = field(init=False, repr=False, compare=False)
    _account: Pattern | None = field(init=False, repr=False, compare=False)
    _type: Pattern = field(init=False, repr=False, compare=False)
    _name: Pattern = field(init=False, repr=False, compare=False)
    _service: Pattern | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate every field and compile the patterns."""
        setattr_ = object.__setattr__
        setattr_(self, "priority", parse_priority(self.priority))
        if self.effect not in EFFECTS:
            raise RuleError(f"effect: expected allow or deny, got {self.effect!r}")
        actions = parse_actions(self.actions)
        if self.effect == "allow" and not actions:
            raise RuleError("actions: an allow rule needs at least one action")
        if self.effect == "deny" and actions:
            raise RuleError("actions: a deny rule grants nothing, so it takes no actions")
        setattr_(self, "actions", actions)
        # User names are NFKC-normalised (authsvc.names), so account patterns are too.
        account = unicodedata.normalize("NFKC", self.account)
        setattr_(self, "account", account)
        group: str | None = None
        account_pattern: Pattern | None = None
        if account.startswith(GROUP_PREFIX):
            try:
                group = normalize_group_name(account[len(GROUP_PREFIX) :])
            except ValueError as exc:
                raise RuleError(f"account: {exc}") from None
        elif account.startswith("@"):
            if account != ANONYMOUS:
                raise RuleError(
                    f"account: {account!r} is reserved (the only '@' account is {ANONYMOUS})"
                )
            if ACCOUNT_VAR in self.name:
                raise RuleError(f"name: {ACCOUNT_VAR} has no value for {ANONYMOUS}")
        else:
            account_pattern = compile_pattern(account, "account")
        setattr_(self, "_group", group)
        setattr_(self, "_account", account_pattern)
        setattr_(self, "_type", compile_pattern(self.type, "type"))
        setattr_(self, "_name", compile_pattern(self.name, "name", allow_account_var=True))
        service = None if self.service is None else compile_pattern(self.service, "service")
        setattr_(self, "_service", service)
        if self.comment is not None and len(self.comment) > MAX_COMMENT_LENGTH:
            raise RuleError(f"comment: longer than {MAX_COMMENT_LENGTH} characters")
        for what in ("valid_from", "valid_until"):
            moment: dt.datetime | None = getattr(self, what)
            if moment is None:
                continue
            if moment.tzinfo is None:
                raise RuleError(f"{what}: give a time zone (RFC 3339, e.g. 2027-01-31T00:00:00Z)")
            # Whole seconds in UTC: what `acl export` writes reads back to an equal rule.
            setattr_(self, what, moment.astimezone(dt.UTC).replace(microsecond=0))
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_from >= self.valid_until
        ):
            raise RuleError("valid_until: must be later than valid_from")
        if self.filtered:
            if self.effect != "allow":
                raise RuleError("filtered: only an allow rule can grant a filtered catalog")
            if (self.type, self.name) != (CATALOG_TYPE, CATALOG_NAME):
                raise RuleError(
                    f"filtered: applies to the catalog only (--type {CATALOG_TYPE} "
                    f"--name {CATALOG_NAME})"
                )

    def in_window(self, now: dt.datetime) -> bool:
        """True if ``now`` lies in the rule's validity window (always, without one)."""
        return (self.valid_from is None or now >= self.valid_from) and (
            self.valid_until is None or now < self.valid_until
        )

    def window_text(self) -> str:
        """The window as ``from … until …`` (empty without one), in UTC RFC 3339."""
        parts = []
        if self.valid_from is not None:
            parts.append(f"from {format_time(self.valid_from)}")
        if self.valid_until is not None:
            parts.append(f"until {format_time(self.valid_until)}")
        return " ".join(parts)

    def applies(
        self, *, account: str | None, groups: frozenset[str], type: str, service: str
    ) -> bool:
        """True if the rule applies to this requester, resource type and service (not name)."""
        return (
            self.matches_account(account, groups)
            and self._type.matches(type)
            and (self._service is None or self._service.matches(service))
        )

    def name_source(self, account: str | None) -> str | None:
        """The name pattern as regex source for ``account`` (RuleError if it cannot be built)."""
        return self._name.source(account)

    def matches_account(self, account: str | None, groups: frozenset[str]) -> bool:
        """True if the rule applies to this requester (None = anonymous)."""
        if account is None:
            return self.account == ANONYMOUS
        if self._group is not None:
            return self._group in groups
        return self._account is not None and self._account.matches(account)

    def matches(
        self, *, account: str | None, groups: frozenset[str], scope: Scope, service: str
    ) -> bool:
        """True if the rule applies to this requester, resource and service."""
        return (
            self.matches_account(account, groups)
            and self._type.matches(scope.type)
            and (self._service is None or self._service.matches(service))
            and self._name.matches(scope.name, account)
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one scope: the granted actions and the rule that decided (None: no match)."""

    granted: tuple[str, ...]
    rule: AclRule | None
    # Rules that matched but were skipped because ``now`` is outside their window.
    outside_window: tuple[AclRule, ...] = ()


def intersect(requested: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    """The requested actions that ``allowed`` permits, in requested order; ``*`` permits all."""
    if "*" in allowed:
        return tuple(requested)
    return tuple(action for action in requested if action in allowed)


def evaluate(
    rules: Sequence[AclRule],
    *,
    account: str | None,
    groups: frozenset[str],
    scope: Scope,
    service: str,
    now: dt.datetime | None = None,
) -> Decision:
    """Decide one scope: the first matching rule (in the given order) wins; no match denies.

    Rules outside their validity window at ``now`` (default: the current time) are skipped.
    """
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    skipped: list[AclRule] = []
    for rule in rules:
        try:
            matched = rule.matches(account=account, groups=groups, scope=scope, service=service)
        except RuleError:
            return Decision((), rule, tuple(skipped))  # fail closed: a rule we cannot evaluate
        if not matched:
            continue
        if not rule.in_window(moment):
            skipped.append(rule)
            continue
        if rule.effect == "deny":
            return Decision((), rule, tuple(skipped))
        return Decision(intersect(scope.actions, rule.actions), rule, tuple(skipped))
    return Decision((), None, tuple(skipped))


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``: how windows are shown and exported."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sort_key(rule: AclRule) -> tuple[int, int]:
    """Evaluation order: priority, then id (rules not stored yet come last within a priority)."""
    return (rule.priority, rule.id if rule.id is not None else MAX_PRIORITY * 1000)


def priority_at(
    rules: Sequence[AclRule], index: int, where: Literal["before", "after"]
) -> int | None:
    """The priority that places a new rule just before or after ``rules[index]``, or None.

    ``rules`` are in evaluation order. A new rule gets the highest id, so it comes last among
    rules of its priority: right after rule X it takes X's priority if the next rule's is
    higher; right before X it takes X's priority minus one if the previous rule's is lower.
    When the neighbours share X's priority there is no such place without renumbering other
    rules, which this never does: None.
    """
    anchor = rules[index].priority
    if where == "after":
        following = rules[index + 1].priority if index + 1 < len(rules) else None
        return anchor if following is None or following > anchor else None
    previous = rules[index - 1].priority if index > 0 else None
    wanted = anchor - 1
    if wanted < MIN_PRIORITY or (previous is not None and previous > wanted):
        return None
    return wanted


def describe_rule(rule: AclRule) -> str:
    """A one-line, human-readable form: ``#1: allow account=alice name=${account}/* ...``."""
    parts = [f"#{rule.id}:" if rule.id is not None else "(new):", rule.effect]
    if rule.priority != DEFAULT_PRIORITY:
        parts.append(f"priority={rule.priority}")
    parts.append(f"account={rule.account}")
    if rule.type != DEFAULT_TYPE:
        parts.append(f"type={rule.type}")
    parts.append(f"name={rule.name}")
    if rule.service is not None:
        parts.append(f"service={rule.service}")
    if rule.actions:
        parts.append(f"actions={','.join(rule.actions)}")
    if rule.filtered:
        parts.append("filtered")
    if rule.valid_from is not None:
        parts.append(f"from={format_time(rule.valid_from)}")
    if rule.valid_until is not None:
        parts.append(f"until={format_time(rule.valid_until)}")
    if rule.comment:
        parts.append(f"comment={rule.comment!r}")
    return " ".join(parts)


def rule_to_dict(rule: AclRule) -> dict[str, object]:
    """The rule as JSON-ready data (``acl list --json``, ``acl check --json``)."""
    return {
        "id": rule.id,
        "priority": rule.priority,
        "account": rule.account,
        "type": rule.type,
        "name": rule.name,
        "service": rule.service,
        "actions": list(rule.actions),
        "effect": rule.effect,
        "comment": rule.comment,
        "filtered": rule.filtered,
        "valid_from": format_time(rule.valid_from) if rule.valid_from else None,
        "valid_until": format_time(rule.valid_until) if rule.valid_until else None,
        "created_at": rule.created_at.isoformat() if rule.created_at else None,
    }
