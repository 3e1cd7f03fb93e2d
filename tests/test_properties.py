"""Properties of the policy code, checked by hypothesis (see also tests/fuzz for the parsers).

- the scope grammar: formatting and parsing a valid scope round-trips, and no input makes
  the parser raise anything but ScopeError;
- ACL evaluation: the first matching rule decides, a deny ends the evaluation, ``${account}``
  never opens another account's namespace, and ``*`` never matches an anonymous request;
- the filtered catalog: its first-match patterns list a repository exactly when the ACL would
  grant pull on it (deny rules before allows included), inside and outside validity windows;
- the manifest parser: any bytes give a Manifest or a ManifestError.

A short run of every fuzz target is part of the suite too; ``make fuzz`` runs them for longer.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from authsvc.acl import AclRule, evaluate
from authsvc.authz.catalog import acl_entries, catalog_filter
from authsvc.scope import Scope, format_scope, parse_scope
from tests.fuzz import __main__ as fuzz
from tests.fuzz.targets import CONTENT_TYPES, MANIFESTS, SCOPES, manifest_target, scope_target

COMPONENT = st.from_regex(r"[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?", fullmatch=True)
NAMES = st.lists(COMPONENT, min_size=1, max_size=3).map("/".join)
HOSTS = st.sampled_from(["", "registry.example.com/", "localhost:5000/", "h-1.io:443/"])
ACTIONS = st.lists(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1, max_size=4)
ACCOUNTS = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)


@given(type_=st.sampled_from(["repository", "registry"]), host=HOSTS, name=NAMES, actions=ACTIONS)
def test_valid_scopes_round_trip(type_: str, host: str, name: str, actions: list[str]) -> None:
    text = f"{type_}:{host}{name}:{','.join(actions)}"
    scope = parse_scope(text)
    assert scope.name == host + name
    assert list(scope.actions) == list(dict.fromkeys(actions))
    assert parse_scope(format_scope(scope)) == scope


@given(SCOPES)
def test_the_scope_parser_only_raises_its_own_error(text: str) -> None:
    scope_target(text)


@settings(max_examples=300)
@given(MANIFESTS, CONTENT_TYPES)
def test_the_manifest_parser_only_raises_its_own_error(
    content: bytes, content_type: str | None
) -> None:
    manifest_target(content, content_type)


def rule(n: int, **kw: object) -> AclRule:
    return AclRule(id=n, **kw)  # type: ignore[arg-type]


@given(account=ACCOUNTS, name=NAMES, allowed=st.lists(ACTIONS, min_size=2, max_size=5))
def test_the_first_matching_rule_decides(account: str, name: str, allowed: list[list[str]]) -> None:
    rules = [rule(i, account="*", name="*", actions=tuple(a)) for i, a in enumerate(allowed)]
    scope = Scope("repository", name, ("pull", "push", "delete"))
    decision = evaluate(rules, account=account, groups=frozenset(), scope=scope, service="r")
    assert decision.rule is rules[0]
    wanted = set(scope.actions) if "*" in allowed[0] else set(allowed[0]) & set(scope.actions)
    assert set(decision.granted) == wanted


@given(account=ACCOUNTS, name=NAMES, actions=ACTIONS)
def test_a_deny_ends_the_evaluation(account: str, name: str, actions: list[str]) -> None:
    rules = [
        rule(1, account=account, name="*", effect="deny"),
        rule(2, account="*", name="*", actions=("*",)),
    ]
    scope = Scope("repository", name, tuple(dict.fromkeys(actions)))
    decision = evaluate(rules, account=account, groups=frozenset(), scope=scope, service="r")
    assert decision.granted == () and decision.rule is rules[0]


@given(me=ACCOUNTS, other=ACCOUNTS, rest=NAMES)
def test_account_namespaces_never_open_to_others(me: str, other: str, rest: str) -> None:
    rules = [rule(1, account="*", name="${account}/*", actions=("*",))]
    scope = Scope("repository", f"{other}/{rest}", ("pull", "push"))
    decision = evaluate(rules, account=me, groups=frozenset(), scope=scope, service="r")
    if me == other:
        assert decision.granted == ("pull", "push")
    else:
        assert decision.granted == () and decision.rule is None


@given(name=NAMES, actions=ACTIONS)
def test_star_never_matches_anonymous(name: str, actions: list[str]) -> None:
    rules = [
        rule(1, account="*", name="*", actions=("*",)),
        rule(2, account="/.*/", name="*", actions=("*",)),
    ]
    scope = Scope("repository", name, tuple(dict.fromkeys(actions)))
    decision = evaluate(rules, account=None, groups=frozenset(), scope=scope, service="r")
    assert decision.granted == () and decision.rule is None


NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
RULE_ACCOUNTS = st.sampled_from(["*", "alice", "bob", "group:devs", "/a.*/"])
RULE_NAMES = st.sampled_from(
    ["*", "team/*", "team/secret", "${account}/*", "/te.m/.*/", "a?", "[ab]*", "x/*/y"]
)
RULE_ACTIONS = st.sampled_from([("pull",), ("push",), ("pull", "push"), ("*",), ("delete",)])
WINDOWS = st.sampled_from([(None, None), (NOW - HOUR, None), (None, NOW), (NOW + HOUR, None)])
RULE_TYPES = st.sampled_from(["repository", "*", "registry"])


@st.composite
def acl_rules(draw: st.DrawFn, n: int) -> AclRule:
    effect = draw(st.sampled_from(["allow", "allow", "deny"]))
    valid_from, valid_until = draw(WINDOWS)
    return rule(
        n,
        account=draw(RULE_ACCOUNTS),
        name=draw(RULE_NAMES),
        type=draw(RULE_TYPES),
        service=draw(st.sampled_from([None, "r", "other"])),
        effect=effect,
        actions=draw(RULE_ACTIONS) if effect == "allow" else (),
        valid_from=valid_from,
        valid_until=valid_until,
    )


CATALOG_NAMES = st.sampled_from(
    ["team/app", "team/secret", "alice/x", "bob/y", "a1", "b", "x/q/y", "tea/m", "other"]
)


@settings(max_examples=300)
@given(
    rules=st.integers(0, 6).flatmap(lambda k: st.tuples(*[acl_rules(i) for i in range(k)])),
    account=st.sampled_from(["alice", "bob", "carol", None]),
    devs=st.booleans(),
    names=st.lists(CATALOG_NAMES | NAMES, max_size=8),
)
def test_the_catalog_filter_lists_exactly_the_pullable_names(
    rules: tuple[AclRule, ...], account: str | None, devs: bool, names: list[str]
) -> None:
    groups = frozenset({"devs"}) if devs and account else frozenset()
    entries = acl_entries(rules, account=account, groups=groups, service="r", now=NOW)
    shown = catalog_filter(entries)
    for name in names:
        scope = Scope("repository", name, ("pull",))
        decision = evaluate(
            rules, account=account, groups=groups, scope=scope, service="r", now=NOW
        )
        assert shown.shows(name) == (decision.granted == ("pull",)), (name, entries)


def test_a_short_fuzz_run_finds_nothing() -> None:
    assert fuzz.run(3.0, examples_per_round=200) > 0
