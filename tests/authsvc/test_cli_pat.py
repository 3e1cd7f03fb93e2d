"""``authsvc pat create|list|revoke`` in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from authsvc import pats

if TYPE_CHECKING:
    from .conftest import Cli


def test_pat_commands(cli: Cli, seeded_db_url: str) -> None:
    created = json.loads(
        cli.ok(
            "pat", "create", "alice", "--name", "ci", "--scope", "repository:alice/*:pull",
            "--scope", "repository:shared/*:pull", "--expires", "30d", "--json",
        )
    )  # fmt: skip
    secret = created["secret"]
    assert pats.well_formed(secret)
    assert created["scopes"] == ["repository:alice/*:pull", "repository:shared/*:pull"]
    assert created["status"] == "active" and created["expires_at"]
    listed = json.loads(cli.ok("pat", "list", "--user", "alice", "--json"))
    assert [(p["name"], p["user"], p["status"]) for p in listed] == [("ci", "alice", "active")]
    # Never shown again: not by list, in any form.
    assert secret not in cli.ok("pat", "list") and "secret" not in listed[0]
    assert cli.ok("pat", "revoke", str(created["id"])) == (
        f"revoked personal access token #{created['id']} 'ci' of 'alice'\n"
    )
    assert json.loads(cli.ok("pat", "list", "--json"))[0]["status"] == "revoked"


def test_pat_mistakes(cli: Cli, seeded_db_url: str) -> None:
    cli.fails(
        [
            (("pat", "create", "nobody", "--name", "x", "--scope", "repository:a:pull"), "",
             "unknown user 'nobody'"),
            (("pat", "create", "alice", "--name", "x", "--scope", "repository:a:fly"), "",
             "unknown action 'fly'"),
            (("pat", "create", "alice", "--name", "x", "--scope", "repository:a:pull",
              "--expires", "soon"), "", "--expires"),
            (("pat", "revoke", "999"), "", "unknown personal access token #999"),
        ]
    )  # fmt: skip
