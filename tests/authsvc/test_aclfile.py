"""docker_auth-shaped ACL files: mapping, rejection of unsupported conditions, round trip."""

from __future__ import annotations

import datetime as dt

import pytest

from authsvc.acl import AclRule, RuleError
from authsvc.aclfile import export, parse

DOCKER_AUTH_EXAMPLE = """
acl:
  - match: {account: "admin"}
    actions: ["*"]
    comment: "Admin has full access to everything."
  - match: {account: "/.+/", name: "${account}/*"}
    actions: ["*"]
    comment: "Logged in users have full access to images that are in their 'namespace'"
  - match: {account: "/.+/", type: "registry", name: "catalog"}
    actions: ["*"]
  - match: {account: "", name: "hello-world"}
    actions: ["pull"]
  - match: {account: "user", name: "private-*"}
    actions: []
  - match: {account: "@anonymous", name: "public/*", service: "registry"}
    actions: [pull]
    priority: 5
"""


def test_docker_auth_example_maps_onto_rules() -> None:
    rules = parse(DOCKER_AUTH_EXAMPLE)
    assert [(r.account, r.type, r.name, r.service, r.actions, r.effect) for r in rules] == [
        ("admin", "*", "*", None, ("*",), "allow"),
        ("/.+/", "*", "${account}/*", None, ("*",), "allow"),
        ("/.+/", "registry", "catalog", None, ("*",), "allow"),
        ("@anonymous", "*", "hello-world", None, ("pull",), "allow"),  # "" is anonymous
        ("user", "*", "private-*", None, (), "deny"),  # empty actions deny
        ("@anonymous", "*", "public/*", "registry", ("pull",), "allow"),
    ]
    assert [r.priority for r in rules] == [100, 100, 100, 100, 100, 5]
    assert rules[0].comment == "Admin has full access to everything."
    assert all(r.id is None for r in rules)


def test_missing_account_means_every_user_but_not_anonymous() -> None:
    (rule,) = parse("acl:\n  - match: {name: x}\n    actions: [pull]\n")
    assert rule.account == "*"
    assert rule.matches_account("anyone", frozenset())
    assert not rule.matches_account(None, frozenset())


def test_export_round_trips() -> None:
    rules = [
        AclRule(id=1, priority=10, account="*", name="secret/*", effect="deny"),
        AclRule(id=2, account="group:devs", name="team/*", actions=("pull", "push")),
        AclRule(id=3, account="@anonymous", type="registry", name="catalog", actions=("*",)),
        AclRule(id=4, account="ci", name="x", service="reg", actions=("pull",), comment="ü: #"),
        AclRule(
            id=5,
            account="carol",
            name="team/*",
            actions=("pull",),
            valid_from=dt.datetime(2027, 1, 1, 9, tzinfo=dt.UTC),
            valid_until=dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC),
        ),
        AclRule(id=6, account="*", type="registry", name="catalog", actions=("*",), filtered=True),
    ]
    text = export(rules)
    assert "valid_until: '2027-02-01T09:00:00Z'" in text and "filtered: true" in text
    assert text.startswith("acl:\n- match:\n    account: '*'\n")
    assert parse(text) == [
        AclRule(
            priority=r.priority,
            account=r.account,
            type=r.type,
            name=r.name,
            service=r.service,
            actions=r.actions,
            effect=r.effect,
            comment=r.comment,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            filtered=r.filtered,
        )
        for r in rules
    ]
    assert parse(export([])) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("acl: [\n", "invalid YAML"),
        ("rules: []\n", "'acl' list at the top level"),
        ("- a\n", "'acl' list at the top level"),
        ("acl: {}\n", "acl: expected a list"),
        ("acl:\n  - 5\n", r"acl\[0\]: expected a mapping"),
        ("acl:\n  - match: {account: x}\n", r"acl\[0\]: actions is required"),
        ("acl:\n  - match: x\n    actions: [pull]\n", r"acl\[0\].match: expected a mapping"),
        (
            "acl:\n  - match: {account: x}\n    actions: pull\n",
            r"acl\[0\].actions: expected a list",
        ),
        ("acl:\n  - match: {ip: 10.0.0.0/8}\n    actions: [pull]\n", "unsupported condition.*ip"),
        (
            "acl:\n  - match: {labels: {group: admins}}\n    actions: [pull]\n",
            "unsupported condition.*labels",
        ),
        ("acl:\n  - match: {account: x}\n    actions: [fly]\n", r"acl\[0\]: actions: unknown"),
        ("acl:\n  - match: {account: [x]}\n    actions: [pull]\n", "expected a string"),
        ("acl:\n  - match: {account: x}\n    actions: [pull]\n    seq: 1\n", "unsupported key"),
        ("acl:\n  - match: {name: '/[/'}\n    actions: [pull]\n", "name: invalid regex"),
        (
            "acl:\n  - match: {account: x}\n    actions: [pull]\n    priority: high\n",
            "priority: expected an integer",
        ),
        (
            "acl:\n  - match: {account: x}\n    actions: [pull]\n    valid_until: 2027-01-01\n",
            r"acl\[0\].valid_until: expected an RFC 3339 time",
        ),
        (
            "acl:\n  - match: {account: x}\n    actions: [pull]\n    valid_from: soon\n",
            r"acl\[0\].valid_from: expected an RFC 3339 time",
        ),
        (
            "acl:\n  - match: {account: x}\n    actions: [pull]\n    filtered: yes please\n",
            r"acl\[0\].filtered: expected true or false",
        ),
        (
            "acl:\n  - match: {account: x, name: y}\n    actions: ['*']\n    filtered: true\n",
            r"acl\[0\]: filtered: applies to the catalog only",
        ),
    ],
)
def test_invalid_files(text: str, problem: str) -> None:
    with pytest.raises(RuleError, match=problem):
        parse(text)


def test_unquoted_yaml_timestamps_are_read() -> None:
    (rule,) = parse(
        "acl:\n  - match: {account: carol}\n    actions: [pull]\n"
        "    valid_until: 2027-02-01T10:00:00+01:00\n"
    )
    assert rule.valid_until == dt.datetime(2027, 2, 1, 9, tzinfo=dt.UTC)


def test_empty_list_is_allowed() -> None:
    assert parse("acl:\n") == []
