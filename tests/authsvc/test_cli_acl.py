"""``authsvc acl ...`` in process, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.acl import rule_to_dict

if TYPE_CHECKING:
    from .conftest import Cli, RunDb

TEAM_RULE = (
    "#5: allow priority=50 account=group:devs name=team/* service=registry "
    "actions=pull,push,delete comment='devs own team/'"
)


async def _more_rules(session: AsyncSession) -> None:
    await store.add_rule(session, account="@anonymous", name="public/*", actions=["pull"])
    await store.add_rule(session, account="admin", type="registry", name="catalog", actions=["*"])


def test_add_list_and_check(cli: Cli, seeded_db_url: str, run_db: RunDb) -> None:
    # Seeded: rule #1 (alice ${account}/* pull); alice is in group devs.
    add = ("acl", "add", "--account")
    cli.ok(*add, "*", "--name", "secret/*", "--effect", "deny", "--priority", "10")
    run_db(_more_rules)
    out = cli.ok(
        *add, "group:devs", "--name", "team/*", "--actions", "pull,push,delete",
        "--priority", "50", "--service", "registry", "--comment", "devs own team/",
    )  # fmt: skip
    assert out == f"added rule {TEAM_RULE}\n"
    assert cli.ok("acl", "list").splitlines() == [
        "#2: deny priority=10 account=* name=secret/*",
        TEAM_RULE,
        "#1: allow account=alice name=${account}/* actions=pull",
        "#3: allow account=@anonymous name=public/* actions=pull",
        "#4: allow account=admin type=registry name=catalog actions=*",
    ]
    listed = json.loads(cli.ok("acl", "list", "--json"))
    assert [r["id"] for r in listed] == [2, 5, 1, 3, 4]
    assert listed[1] | {"created_at": None} == {
        "id": 5,
        "priority": 50,
        "account": "group:devs",
        "type": "repository",
        "name": "team/*",
        "service": "registry",
        "actions": ["pull", "push", "delete"],
        "effect": "allow",
        "comment": "devs own team/",
        "filtered": False,
        "valid_from": None,
        "valid_until": None,
        "created_at": None,
    }

    out = cli.ok(
        "acl", "check", "alice", "repository:team/app:delete,pull", "repository:secret/x:pull",
        "repository:alice/a:push repository:public/x:pull",
    )  # fmt: skip
    assert out.splitlines() == [
        f"repository:team/app:delete,pull -> delete,pull (rule {TEAM_RULE})",
        "repository:secret/x:pull -> (none) (rule #2: deny priority=10 account=* name=secret/*)",
        "repository:alice/a:push -> (none) (rule #1: allow account=alice name=${account}/* "
        "actions=pull)",
        "repository:public/x:pull -> (none) (no rule matched)",
    ]
    scopes = ("repository:public/x:pull,push", "repository:alice/app:pull")
    checked = json.loads(cli.ok("acl", "check", "--json", "@anonymous", *scopes))
    assert (checked["account"], checked["refused"]) == (None, None)
    assert [
        (c["scope"], c["granted"], c["rule"] and c["rule"]["id"]) for c in checked["scopes"]
    ] == [
        ("repository:public/x:pull,push", ["pull"], 3),
        ("repository:alice/app:pull", [], None),
    ]
    # "access" is exactly the token's access claim: denied resources are dropped.
    assert checked["access"] == [{"type": "repository", "name": "public/x", "actions": ["pull"]}]


def test_check_reports_what_the_endpoint_does_with_unknown_and_disabled_users(
    cli: Cli, seeded_db_url: str
) -> None:
    cli.ok("acl", "add", "--account", "*", "--name", "team/*", "--actions", "pull")
    unknown = json.loads(cli.ok("acl", "check", "--json", "nobody", "repository:team/x:pull"))
    assert unknown["refused"] == "invalid username or password"
    assert unknown["access"] == [] and unknown["if_allowed"] is None
    cli.ok("user", "disable", "alice")
    disabled = json.loads(cli.ok("acl", "check", "--json", "alice", "repository:team/x:pull"))
    assert disabled["refused"] == "user account is disabled"
    assert disabled["access"] == []
    # What the rules would give once the account is enabled again.
    assert [c["granted"] for c in disabled["if_allowed"]] == [["pull"]]
    text = cli.ok("acl", "check", "alice", "repository:team/x:pull")
    assert text.splitlines()[-1].startswith(
        "repository:team/x:pull -> (none) (refused; if allowed in: pull (rule #"
    )


def test_export_delete_and_import(
    cli: Cli, seeded_db_url: str, run_db: RunDb, tmp_path: Path
) -> None:
    deny = ("--name", "secret/*", "--effect", "deny", "--priority", "10")
    cli.ok("acl", "add", "--account", "*", *deny)
    run_db(_more_rules)
    listed = json.loads(cli.ok("acl", "list", "--json"))
    exported = cli.ok("acl", "export")
    assert yaml.safe_load(exported)["acl"][0] == {
        "match": {"account": "*", "type": "repository", "name": "secret/*"},
        "actions": [],
        "priority": 10,
    }
    backup = tmp_path / "acl.yml"
    backup.write_text(exported)
    assert cli.ok("acl", "delete", "2").startswith("deleted rule #2: deny")
    assert cli.ok("acl", "import", "--replace", str(backup)).startswith(
        "replaced all rules with 4 rule(s)"
    )
    restored = run_db(store.list_rules)
    strip = ("id", "created_at")
    assert [{k: v for k, v in rule_to_dict(r).items() if k not in strip} for r in restored] == [
        {k: v for k, v in r.items() if k not in strip} for r in listed
    ]

    docker_auth = tmp_path / "docker_auth.yml"
    docker_auth.write_text(
        "acl:\n"
        "  - match: {account: '/.+/', name: '${account}/*'}\n"
        "    actions: ['*']\n"
        "    comment: every user owns a namespace\n"
        "  - match: {account: '', name: 'hello-world'}\n"
        "    actions: [pull]\n"
    )
    assert cli.ok("acl", "import", str(docker_auth)) == (f"imported 2 rule(s) from {docker_auth}\n")
    last = run_db(store.list_rules)[-2:]
    assert [(r.account, r.type, r.name, r.actions) for r in last] == [
        ("/.+/", "*", "${account}/*", ("*",)),
        ("@anonymous", "*", "hello-world", ("pull",)),
    ]


def test_mistakes_the_database_reveals(cli: Cli, seeded_db_url: str) -> None:
    cli.fails(
        [
            (
                ("acl", "add", "--account", "x", "--name", "/[a-/", "--actions", "pull"),
                "",
                "name: invalid regex '/[a-/'",
            ),
            (("acl", "delete", "999"), "", "unknown rule #999"),
        ]
    )


def test_mistakes_in_the_input(sqlite_cli: Cli, tmp_path: Path) -> None:
    bad_acl = tmp_path / "bad-acl.yml"
    bad_acl.write_text(
        "acl:\n  - match: {account: x}\n    actions: [pull]\n"
        "  - match: {account: y, ip: 10.0.0.1}\n    actions: [pull]\n"
    )
    not_yaml = tmp_path / "not.yml"
    not_yaml.write_text("acl: [\n")
    add = ("acl", "add", "--account", "alice", "--name")
    sqlite_cli.fails(
        [
            ((*add, "x[", "--actions", "pull"), "", "name: invalid glob 'x['"),
            ((*add, "x", "--actions", "pull,fly"), "", "unknown action 'fly'"),
            ((*add, "x", "--actions", "pull", "--priority", "high"), "", "priority: expected"),
            ((*add, "x", "--actions", "pull", "--priority", "9999999"), "", "priority: must be"),
            ((*add, "x"), "", "needs at least one action"),
            ((*add, "x", "--effect", "deny", "--actions", "pull"), "", "takes no actions"),
            ((*add, "${user}/*", "--actions", "pull"), "", "unknown variable"),
            ((*add, "x", "--actions", "pull", "--service", "/(/"), "", "service: invalid regex"),
            (
                ("acl", "add", "--account", "@root", "--name", "x", "--actions", "pull"),
                "",
                "reserved",
            ),
            (
                ("acl", "add", "--account", "/(/", "--name", "x", "--actions", "pull"),
                "",
                "account: invalid regex",
            ),
            (("acl", "check", "alice", "repository:X:pull"), "", "malformed scope"),
            (
                ("acl", "check", "alice", "repository:x:pull", "--service", "other"),
                "",
                "unknown service 'other'",
            ),
            (("acl", "import", str(bad_acl)), "", "acl[1].match: unsupported condition(s): ip"),
            (("acl", "import", "--replace", str(bad_acl)), "", "unsupported condition"),
            (("acl", "import", str(not_yaml)), "", "invalid YAML"),
            (("acl", "import", str(tmp_path / "missing.yml")), "", "No such file"),
        ]
    )


def test_add_before_and_after_a_rule(cli: Cli, seeded_db_url: str) -> None:
    # Seeded: rule #1 (priority 100).
    add = ("acl", "add", "--account", "*", "--actions", "pull", "--name")
    added = cli.ok(*add, "a", "--before", "1")
    assert added == "added rule #2: allow priority=99 account=* name=a actions=pull\n"
    cli.ok(*add, "b", "--after", "1")
    assert [line.split(":")[0] for line in cli.ok("acl", "list").splitlines()] == [
        "#2",
        "#1",
        "#3",
    ]
    cli.fails(
        [
            ((*add, "c", "--before", "3"), "", "give a priority instead"),
            ((*add, "c", "--after", "9"), "", "unknown rule #9"),
            ((*add, "c", "--after", "1", "--before", "1"), "", "not both"),
        ]
    )


def test_windows_and_the_filtered_catalog(cli: Cli, seeded_db_url: str) -> None:
    # Seeded: rule #1 (alice ${account}/* pull).
    add = ("acl", "add", "--account", "alice", "--actions", "pull")
    out = cli.ok(*add, "--name", "old/*", "--from", "2020-01-01T00:00:00Z",
                 "--until", "2020-02-01T01:00:00+01:00")  # fmt: skip
    assert out == (
        "added rule #2: allow account=alice name=old/* actions=pull "
        "from=2020-01-01T00:00:00Z until=2020-02-01T00:00:00Z\n"
    )
    cli.ok(*add, "--name", "new/*", "--from", "30d")
    cli.ok(*add, "--name", "now/*", "--until", "+1h")
    cli.ok("acl", "add", "--account", "*", "--type", "registry", "--name", "catalog",
           "--actions", "*", "--filtered")  # fmt: skip
    listed = json.loads(cli.ok("acl", "list", "--json"))
    assert listed[2]["valid_from"] > "2026" and listed[2]["valid_until"] is None
    assert listed[4]["filtered"] is True
    out = cli.ok("acl", "check", "alice", "repository:old/x:pull", "repository:new/x:pull",
                 "repository:now/x:pull", "registry:catalog:*")  # fmt: skip
    lines = out.splitlines()
    assert lines[0] == (
        "repository:old/x:pull -> (none) (no rule matched; rule #2 matched but is outside its "
        "window (from 2020-01-01T00:00:00Z until 2020-02-01T00:00:00Z))"
    )
    assert lines[1].startswith("repository:new/x:pull -> (none) (no rule matched; rule #3 ")
    assert lines[2].startswith("repository:now/x:pull -> pull (rule #4: ")
    assert lines[3] == (
        "registry:catalog:* -> * (rule #5: allow account=* type=registry name=catalog "
        "actions=* filtered; filtered to 2 pattern(s) of pullable repositories)"
    )
    checked = json.loads(cli.ok("acl", "check", "--json", "alice", "registry:catalog:*"))
    # The claim a token would carry: alice's pull rules in evaluation order.
    assert checked["catalog_filter"] == [["+alice/.*", "+now/.*"]]
    cli.fails(
        [
            ((*add, "--name", "x", "--until", "yesterday"), "", "--until: expected an RFC 3339"),
            ((*add, "--name", "x", "--from", "2027-01-01T00:00:00"), "", "give the time zone"),
            ((*add, "--name", "x", "--from", "2d", "--until", "1d"), "", "later than valid_from"),
            ((*add, "--name", "x", "--filtered"), "", "applies to the catalog only"),
        ]
    )
