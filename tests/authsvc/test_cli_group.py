"""``authsvc group ...`` in process, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from authsvc import store

if TYPE_CHECKING:
    from .conftest import Cli, RunDb


def test_group_commands(cli: Cli, seeded_db_url: str, run_db: RunDb) -> None:
    # Seeded: group devs with alice.
    assert cli.ok("group", "add", "ops") == "created group 'ops'\n"
    assert cli.ok("group", "member", "add", "ops", "bob") == "added 'bob' to group 'ops'\n"
    assert cli.ok("group", "list").splitlines() == ["devs: alice", "ops: bob"]
    assert cli.ok("group", "member", "remove", "devs", "alice") == (
        "removed 'alice' from group 'devs'\n"
    )
    listed = json.loads(cli.ok("group", "list", "--json"))
    assert [(g["name"], g["members"]) for g in listed] == [("devs", []), ("ops", ["bob"])]
    assert cli.ok("group", "delete", "ops") == "deleted group 'ops'\n"
    assert [g.name for g in run_db(store.list_groups)] == ["devs"]


def test_mistakes_the_database_reveals(cli: Cli, seeded_db_url: str) -> None:
    cli.fails(
        [
            (("group", "add", "devs"), "", "group 'devs' already exists"),
            (("group", "delete", "nope"), "", "unknown group 'nope'"),
            (("group", "member", "add", "devs", "nobody"), "", "unknown user 'nobody'"),
            (("group", "member", "add", "devs", "alice"), "", "already a member"),
            (("group", "member", "remove", "devs", "bob"), "", "not a member"),
        ]
    )


def test_mistakes_in_the_input(sqlite_cli: Cli) -> None:
    sqlite_cli.fails(
        [
            (("group", "add", "@all"), "", "is reserved"),
            (("group", "member", "add", "devs", "a:b"), "", "must not contain ':'"),
        ]
    )
