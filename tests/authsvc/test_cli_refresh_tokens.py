"""``authsvc token list|revoke`` in process, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .conftest import Cli


def test_token_commands(cli: Cli, seeded_db_url: str) -> None:
    listed = json.loads(cli.ok("token", "list", "--json", "--user", "alice"))
    assert [(t["user"], t["client_id"], t["status"]) for t in listed] == [
        ("alice", "docker", "active")
    ]
    token_id = str(listed[0]["id"])
    assert cli.ok("token", "revoke", token_id) == (
        f"revoked refresh token #{token_id} of 'alice'\n"
    )
    out = cli.ok("token", "list")
    assert out.startswith(f"#{token_id} alice service=registry client_id=docker created=")
    # Revoked, and only ever shown by id: the stored hash never appears.
    assert out.endswith(" revoked\n") and "a" * 64 not in out
    assert cli.ok("token", "revoke", "--user", "alice") == (
        "revoked 0 refresh token(s) of 'alice'\n"
    )


def test_mistakes_the_database_reveals(cli: Cli, seeded_db_url: str) -> None:
    cli.fails(
        [
            (("token", "revoke", "999"), "", "unknown refresh token #999"),
            (("token", "revoke", "--user", "nobody"), "", "unknown user 'nobody'"),
            (("token", "list", "--user", "nobody"), "", "unknown user 'nobody'"),
        ]
    )
