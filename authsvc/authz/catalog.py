"""The filtered catalog: the ACL's pull decisions for one account as first-match patterns (pure).

A ``filtered`` rule grants ``registry:catalog:*`` together with the ``authsvc.catalog`` claim
(``svckit.catalog_filter``), which tells the registry which repository names to list. A token
is small and the set of names is open-ended, so the claim holds patterns, not names: the
account's rules that can decide a ``repository`` scope, in evaluation order, each as
"show" (it would grant pull) or "hide" (it is a deny, or an allow without pull, and being the
first match it ends the evaluation). Evaluated first-match, the list shows a name exactly when
``authsvc.acl.evaluate`` would grant pull on it: allowed minus denied, never a name a deny rule
before an allow would hide. A credential's scope caps add a second list (a name must pass both).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from authsvc.acl import AclRule, RuleError, intersect
from authsvc.caps import ScopeCap
from svckit.catalog_filter import CatalogFilter, Entry

REPOSITORY = "repository"
_PULL = ("pull",)
_EVERYTHING = ".*"


def acl_entries(
    rules: Sequence[AclRule],
    *,
    account: str | None,
    groups: frozenset[str],
    service: str,
    now: dt.datetime,
) -> tuple[Entry, ...]:
    """The account's pull decisions over repository names, as an ordered first-match list."""
    entries: list[Entry] = []
    for rule in rules:
        if not rule.in_window(now):
            continue  # skipped by evaluate() too
        if not rule.applies(account=account, groups=groups, type=REPOSITORY, service=service):
            continue
        try:
            source = rule.name_source(account)
        except RuleError:
            # evaluate() denies every request that reaches this rule: hide everything left.
            entries.append((False, _EVERYTHING))
            break
        if source is None:
            continue  # ${account} has no value for an anonymous request: never matches
        shows = rule.effect == "allow" and bool(intersect(_PULL, rule.actions))
        entries.append((shows, source))
        if source == _EVERYTHING:
            break  # nothing after a rule that matches every name can decide anything
    # A trailing "hide" changes nothing: a name that matches no entry is hidden anyway.
    while entries and not entries[-1][0]:
        entries.pop()
    return tuple(entries)


def cap_entries(caps: Iterable[ScopeCap]) -> tuple[Entry, ...]:
    """The repository names that some cap lets the credential pull (an allow-list)."""
    return tuple(
        (True, source)
        for cap in caps
        if cap.type == REPOSITORY and intersect(_PULL, cap.actions)
        for source in (cap.name.source(),)
        if source is not None
    )


def catalog_filter(acl: tuple[Entry, ...], caps: Sequence[ScopeCap] | None = None) -> CatalogFilter:
    """The claim's filter: the ACL list, and the caps' list when the credential has caps."""
    lists = [acl] if caps is None else [acl, cap_entries(caps)]
    return CatalogFilter(tuple(lists))
