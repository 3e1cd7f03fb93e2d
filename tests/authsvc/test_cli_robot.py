"""``authsvc robot …`` in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from authsvc import pats

if TYPE_CHECKING:
    from .conftest import Cli


def test_robot_lifecycle(cli: Cli, seeded_db_url: str) -> None:
    created = json.loads(
        cli.ok(
            "robot", "add", "ci", "--scope", "repository:team/*:pull,push", "--expires", "90d",
            "--description", "GitLab CI", "--json",
        )
    )  # fmt: skip
    assert created["name"] == "robot$ci" and pats.well_formed(created["secret"])
    [secret] = created["secrets"]
    assert secret["name"] == "GitLab CI" and secret["scopes"] == ["repository:team/*:pull,push"]
    assert cli.ok("robot", "list").startswith("robot$ci enabled active_secrets=1 ")
    # A robot is a user that cannot log in with a password; user list shows it as such.
    assert "robot$ci" in cli.ok("user", "list")
    assert cli.ok("robot", "disable", "robot$ci") == "disabled robot 'robot$ci'\n"
    assert json.loads(cli.ok("robot", "list", "--json"))[0]["disabled"] is True
    cli.ok("robot", "enable", "ci")
    rotated = json.loads(cli.ok("robot", "secret", "rotate", "ci", "--overlap", "1h", "--json"))
    assert rotated["secret"] != created["secret"]
    assert [s["status"] for s in rotated["secrets"]] == ["active", "active"]
    assert rotated["secrets"][0]["expires_at"] < rotated["secrets"][1]["expires_at"]
    rotated = json.loads(cli.ok("robot", "secret", "rotate", "ci", "--json"))
    assert [s["status"] for s in rotated["secrets"]] == ["expired", "expired", "active"]
    assert cli.ok("robot", "delete", "ci") == "deleted robot 'ci'\n"
    assert json.loads(cli.ok("robot", "list", "--json")) == []


def test_robot_mistakes(cli: Cli, seeded_db_url: str) -> None:
    cli.ok("robot", "add", "ci", "--scope", "repository:a:pull")
    cli.fails(
        [
            (("robot", "add", "ci", "--scope", "repository:a:pull"), "", "already exists"),
            (("robot", "add", "a/b", "--scope", "repository:a:pull"), "", "must not contain '/'"),
            (("robot", "add", "x", "--scope", "repository:a:fly"), "", "unknown action"),
            (("robot", "disable", "alice"), "", "unknown robot 'robot$alice'"),
            (("robot", "secret", "rotate", "nope"), "", "unknown robot"),
        ]
    )


def test_robot_token_ttl(cli: Cli, seeded_db_url: str) -> None:
    cli.ok("robot", "add", "ci", "--scope", "repository:a:pull", "--token-ttl", "120")
    assert json.loads(cli.ok("robot", "list", "--json"))[0]["token_ttl"] == 120
    assert cli.ok("robot", "list").rstrip().endswith(" token_ttl=120s")
    cli.ok("robot", "token-ttl", "robot$ci", "2h")
    assert json.loads(cli.ok("robot", "list", "--json"))[0]["token_ttl"] == 7200
    cli.ok("robot", "token-ttl", "ci", "default")
    assert json.loads(cli.ok("robot", "list", "--json"))[0]["token_ttl"] is None
    cli.fails(
        [
            (
                ("robot", "add", "cd", "--scope", "repository:a:pull", "--token-ttl", "30s"),
                "",
                "at least 60",
            ),
            (("robot", "token-ttl", "alice", "300"), "", "unknown robot"),
        ]
    )
