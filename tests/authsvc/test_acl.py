"""ACL patterns, rule validation and evaluation semantics (docker_auth's ordered list)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from authsvc.acl import (
    AclRule,
    Decision,
    RuleError,
    compile_pattern,
    describe_rule,
    evaluate,
    intersect,
    parse_actions,
    rule_to_dict,
    sort_key,
)
from authsvc.scope import Scope, parse_scope

# --- patterns --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("*", "alice/app", True),
        ("*", "a/b/c", True),
        ("alice/*", "alice/app", True),
        ("alice/*", "alice/team/app", True),  # '*' crosses '/' (docker_auth's does not)
        ("alice/*", "alice", False),
        ("alice/*", "bob/app", False),
        ("alice/*", "xalice/app", False),  # anchored at the start
        ("alice", "alice/app", False),  # and at the end
        ("a.b", "a.b", True),
        ("a.b", "axb", False),  # '.' is literal in a glob
        ("alice/?pp", "alice/app", True),
        ("alice/?pp", "alice/pp", False),
        ("[ab]*", "bob", True),
        ("[!ab]*", "bob", False),
        ("[^ab]*", "carol", True),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("[]]x", "]x", True),
        ("a+b", "a+b", True),
        ("a+b", "aab", False),
        ("/alice\\/.+/", "alice/x", True),
        ("/alice\\/.+/", "alice/", False),
        ("/alice\\/.+/", "xalice/x", False),  # regexes are anchored
        ("/a|b/", "a", True),
        ("/a|b/", "ab", False),  # anchoring covers every alternative
        ("/.+/", "anything/at/all", True),
        ("/(?i)ALICE/", "alice", True),
        ("/", "/", True),  # a lone slash is a glob, not a regex
    ],
)
def test_pattern_matching(pattern: str, value: str, matches: bool) -> None:
    assert compile_pattern(pattern, "name").matches(value) is matches


@pytest.mark.parametrize(
    ("pattern", "account", "value", "matches"),
    [
        ("${account}/*", "alice", "alice/app", True),
        ("${account}/*", "alice", "bob/app", False),
        ("${account}/*", "a.b", "a.b/x", True),
        ("${account}/*", "a.b", "axb/x", False),  # the account is escaped, not a pattern
        ("${account}/*", "a*", "abc/x", False),
        ("${account}/*", "a*", "a*/x", True),
        ("team-${account}", "bob", "team-bob", True),
        ("/${account}-[0-9]+/", "bob", "bob-12", True),
        ("/${account}-[0-9]+/", "b.b", "bxb-12", False),
        ("${account}/${account}", "x", "x/x", True),
    ],
)
def test_account_expansion(pattern: str, account: str, value: str, matches: bool) -> None:
    assert compile_pattern(pattern, "name", allow_account_var=True).matches(value, account) is (
        matches
    )


def test_account_expansion_without_account_never_matches() -> None:
    assert not compile_pattern("${account}/*", "name", allow_account_var=True).matches("x/y")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("", "must not be empty"),
        ("//", "empty regex"),
        ("/[/", "invalid regex '/\\[/'"),
        ("/(?P<x/", "invalid regex"),
        ("x[", "invalid glob 'x\\[': unterminated"),
        ("[z-a]", "invalid glob"),
        ("${user}/x", "unknown variable"),
        ("${account}/x", "unknown variable"),  # only name patterns expand it
        ("x" * 1025, "longer than 1024"),
    ],
)
def test_invalid_patterns(pattern: str, problem: str) -> None:
    with pytest.raises(RuleError, match=f"^account: .*{problem}"):
        compile_pattern(pattern, "account")


# --- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"actions": ("pull", "fly")}, "actions: unknown action 'fly'"),
        ({"actions": ()}, "allow rule needs at least one action"),
        ({"effect": "deny", "actions": ("pull",)}, "deny rule grants nothing"),
        ({"effect": "maybe"}, "effect: expected allow or deny"),
        ({"account": "@root"}, "account: '@root' is reserved"),
        ({"account": ""}, "account: the pattern must not be empty"),
        ({"account": "group:"}, "account: group name must not be empty"),
        ({"account": "group:@x"}, "reserved"),
        ({"account": "@anonymous", "name": "${account}/*"}, "no value for @anonymous"),
        ({"name": "/[/"}, "name: invalid regex"),
        ({"name": "${name}"}, "name: unknown variable"),
        ({"type": ""}, "type: the pattern must not be empty"),
        ({"service": ""}, "service: the pattern must not be empty"),
        ({"priority": 1_000_001}, "priority: must be between"),
        ({"priority": "high"}, "priority: expected an integer"),
        ({"priority": True}, "priority: expected an integer"),
        ({"comment": "x" * 1025}, "comment: longer than 1024"),
    ],
)
def test_invalid_rules(fields: dict[str, Any], problem: str) -> None:
    kwargs: dict[str, Any] = {"account": "alice", "name": "x", "actions": ("pull",)} | fields
    with pytest.raises(RuleError, match=problem):
        AclRule(**kwargs)


def test_rule_normalisation() -> None:
    rule = AclRule(account="ａｌｉｃｅ", name="x", actions=("pull,push", "pull"), priority="-5")  # type: ignore[arg-type]
    assert rule.account == "alice"
    assert rule.actions == ("pull", "push")
    assert rule.priority == -5
    assert rule.type == "repository" and rule.effect == "allow" and rule.service is None
    assert AclRule(account="a", name="x", actions=("pull", "*")).actions == ("*",)
    assert AclRule(account="a", name="x", effect="deny").actions == ()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["pull"], ("pull",)),
        (["pull,push", "delete"], ("pull", "push", "delete")),
        ([" pull , push "], ("pull", "push")),
        (["push,pull,push"], ("push", "pull")),
        (["pull,*"], ("*",)),
        ([""], ()),
    ],
)
def test_parse_actions(values: list[str], expected: tuple[str, ...]) -> None:
    assert parse_actions(values) == expected


@pytest.mark.parametrize(
    ("requested", "allowed", "granted"),
    [
        (("pull", "push"), ("pull",), ("pull",)),
        (("push", "pull"), ("pull", "push"), ("push", "pull")),  # requested order
        (("pull", "push", "delete"), ("*",), ("pull", "push", "delete")),
        (("*",), ("*",), ("*",)),
        (("*",), ("pull", "push", "delete"), ()),  # '*' is granted only by '*'
        (("delete",), ("pull",), ()),
    ],
)
def test_intersect(
    requested: tuple[str, ...], allowed: tuple[str, ...], granted: tuple[str, ...]
) -> None:
    assert intersect(requested, allowed) == granted


# --- evaluation ------------------------------------------------------------------------------

RULES = sorted(
    [
        AclRule(id=1, priority=10, account="*", name="secret/*", effect="deny"),
        AclRule(id=2, account="alice", name="${account}/*", actions=("pull", "push")),
        AclRule(id=3, account="group:devs", name="team/*", actions=("pull", "push", "delete")),
        AclRule(id=4, account="@anonymous", name="public/*", actions=("pull",)),
        AclRule(id=5, account="*", name="public/*", actions=("pull",)),
        AclRule(id=6, account="admin", name="*", actions=("*",)),
        AclRule(id=7, account="admin", type="registry", name="catalog", actions=("*",)),
        AclRule(id=8, account="*", name="svc/*", service="other", actions=("pull",)),
        AclRule(id=9, account="/ci-.+/", name="builds/*", actions=("push",)),
        AclRule(id=10, account="*", type="*", name="everything/*", actions=("pull",)),
        # Same priority as #2..#10 but a higher id: #2 wins for alice's namespace.
        AclRule(id=11, account="alice", name="alice/*", actions=("delete",)),
        # A lower priority number is evaluated first, whatever the id.
        AclRule(id=12, priority=50, account="bob", name="bob/*", actions=("pull",)),
        AclRule(id=13, account="bob", name="bob/*", actions=("pull", "push")),
    ],
    key=sort_key,
)

CASES: list[tuple[str | None, frozenset[str], str, str, tuple[str, ...], int | None]] = [
    # account, groups, scope, service, granted, deciding rule id
    ("alice", frozenset(), "repository:alice/app:pull,push", "registry", ("pull", "push"), 2),
    ("alice", frozenset(), "repository:alice/app:delete", "registry", (), 2),  # first match decides
    ("alice", frozenset(), "repository:bob/app:pull", "registry", (), None),
    ("alice", frozenset(), "repository:secret/x:pull", "registry", (), 1),
    ("admin", frozenset(), "repository:secret/x:pull", "registry", (), 1),  # deny ends it
    ("admin", frozenset(), "repository:any/thing:push,pull", "registry", ("push", "pull"), 6),
    ("admin", frozenset(), "repository:x:*", "registry", ("*",), 6),
    ("admin", frozenset(), "registry:catalog:*", "registry", ("*",), 7),
    ("carol", frozenset(), "registry:catalog:*", "registry", (), None),
    (
        "bob",
        frozenset({"devs"}),
        "repository:team/app:pull,delete",
        "registry",
        ("pull", "delete"),
        3,
    ),
    ("bob", frozenset({"ops"}), "repository:team/app:pull", "registry", (), None),
    ("bob", frozenset(), "repository:bob/app:pull,push", "registry", ("pull",), 12),
    (None, frozenset(), "repository:public/x:pull,push", "registry", ("pull",), 4),
    (None, frozenset(), "repository:alice/app:pull", "registry", (), None),
    (None, frozenset(), "repository:secret/x:pull", "registry", (), None),  # '*' never matches
    (None, frozenset(), "repository:everything/x:pull", "registry", (), None),
    ("carol", frozenset(), "repository:public/x:pull", "registry", ("pull",), 5),
    ("carol", frozenset(), "repository:svc/x:pull", "registry", (), None),
    ("carol", frozenset(), "repository:svc/x:pull", "other", ("pull",), 8),
    ("ci-runner", frozenset(), "repository:builds/x:push", "registry", ("push",), 9),
    ("xci-runner", frozenset(), "repository:builds/x:push", "registry", (), None),
    ("carol", frozenset(), "plugin:everything/x:pull", "registry", ("pull",), 10),
    ("carol", frozenset(), "repository:localhost:5000/x:pull", "registry", (), None),
]


@pytest.mark.parametrize(("account", "groups", "scope", "service", "granted", "rule_id"), CASES)
def test_evaluate(
    account: str | None,
    groups: frozenset[str],
    scope: str,
    service: str,
    granted: tuple[str, ...],
    rule_id: int | None,
) -> None:
    decision = evaluate(
        RULES, account=account, groups=groups, scope=parse_scope(scope), service=service
    )
    assert decision.granted == granted
    assert (decision.rule.id if decision.rule else None) == rule_id


def test_no_rules_grant_nothing() -> None:
    scope = Scope("repository", "x", ("pull",))
    assert evaluate([], account="a", groups=frozenset(), scope=scope, service="s") == Decision(
        (), None
    )


def test_unevaluable_rule_fails_closed() -> None:
    # A named group around ${account} compiles for the sample account but not for "a.b".
    rule = AclRule(id=1, account="*", name="/(?P<${account}>x)/", actions=("pull",))
    allow = AclRule(id=2, account="*", name="*", actions=("pull",))
    scope = Scope("repository", "x", ("pull",))
    decision = evaluate([rule, allow], account="a.b", groups=frozenset(), scope=scope, service="s")
    assert decision == Decision((), rule)


def test_describe_and_dict() -> None:
    rule = AclRule(
        id=7,
        priority=5,
        account="group:devs",
        type="registry",
        name="catalog",
        service="reg",
        actions=("*",),
        comment="why",
    )
    assert describe_rule(rule) == (
        "#7: allow priority=5 account=group:devs type=registry name=catalog service=reg "
        "actions=* comment='why'"
    )
    assert describe_rule(AclRule(account="*", name="x", effect="deny")) == (
        "(new): deny account=* name=x"
    )
    assert rule_to_dict(rule) == {
        "id": 7,
        "priority": 5,
        "account": "group:devs",
        "type": "registry",
        "name": "catalog",
        "service": "reg",
        "actions": ["*"],
        "effect": "allow",
        "comment": "why",
        "filtered": False,
        "valid_from": None,
        "valid_until": None,
        "created_at": None,
    }


def test_rules_compare_by_value() -> None:
    assert AclRule(account="a", name="x", actions=("pull",)) == AclRule(
        account="a", name="x", actions=("pull",)
    )
    assert sort_key(AclRule(id=3, priority=1, account="a", name="x", actions=("pull",))) == (1, 3)


def test_validity_windows_are_checked_at_decision_time() -> None:
    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=30)
    contractor = AclRule(
        id=1, account="carol", name="team/*", actions=("pull",), valid_from=start, valid_until=end
    )
    fallback = AclRule(id=2, account="*", name="team/*", effect="deny")
    scope = Scope("repository", "team/app", ("pull",))

    def at(moment: dt.datetime) -> Decision:
        return evaluate(
            [contractor, fallback],
            account="carol",
            groups=frozenset(),
            scope=scope,
            service="s",
            now=moment,
        )

    assert at(start) == Decision(("pull",), contractor)  # valid_from is inclusive
    assert at(end - dt.timedelta(seconds=1)).granted == ("pull",)
    # Outside the window the rule is skipped as if absent, and reported as such.
    assert at(end) == Decision((), fallback, (contractor,))  # valid_until is exclusive
    assert at(start - dt.timedelta(seconds=1)) == Decision((), fallback, (contractor,))
    assert contractor.window_text() == "from 2027-01-01T00:00:00Z until 2027-01-31T00:00:00Z"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"valid_from": dt.datetime(2027, 1, 1)}, "time zone"),
        (
            {
                "valid_from": dt.datetime(2027, 1, 2, tzinfo=dt.UTC),
                "valid_until": dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            },
            "later than valid_from",
        ),
        ({"filtered": True, "name": "x/*", "actions": ("*",)}, "catalog only"),
        ({"filtered": True, "type": "registry", "name": "catalog", "effect": "deny"}, "allow"),
    ],
)
def test_window_and_filtered_validation(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"account": "*", "name": "x", "actions": ("pull",)}
    if fields.get("effect") == "deny":
        base["actions"] = ()
    with pytest.raises(RuleError, match=message):
        AclRule(**(base | fields))  # type: ignore[arg-type]


def test_windows_are_kept_in_whole_utc_seconds() -> None:
    moment = dt.datetime(2027, 1, 1, 1, 0, 0, 999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rule = AclRule(account="*", name="x", actions=("pull",), valid_until=moment)
    assert rule.valid_until == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
