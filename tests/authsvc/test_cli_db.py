"""``authsvc db upgrade|current`` and database problems, in process (fixtures in conftest.py).

Every problem with the database is one line on stderr and exit status 1: a database that is not
migrated, one that does not answer, and a URL that cannot be used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from authsvc import db

if TYPE_CHECKING:
    from .conftest import Cli, MakeCli

# Nothing listens on port 1: the connection is refused at once, with no timeout to wait for.
CLOSED_PORT = "postgresql://postgres@127.0.0.1:1/nothing"


def test_upgrade_and_current(make_cli: MakeCli, empty_db_url: str) -> None:
    cli = make_cli(empty_db_url)
    assert cli.ok("db", "current") == (
        "none (the database is not migrated; run 'authsvc db upgrade')\n"
    )
    assert cli.ok("db", "upgrade") == f"database at revision {db.head_revision()} (head)\n"
    assert cli.ok("db", "current") == f"{db.head_revision()} (head)\n"
    assert (
        cli.ok("db", "upgrade") == f"database at revision {db.head_revision()} (head)\n"
    )  # idempotent


@pytest.mark.parametrize(
    ("url", "args", "expected"),
    [
        ("unmigrated", ("user", "list"), "no such table: users (is it migrated? run 'authsvc db"),
        (CLOSED_PORT, ("user", "count"), "cannot connect to the database"),
        (CLOSED_PORT, ("db", "upgrade"), "cannot connect to the database"),
        (CLOSED_PORT, ("db", "current"), "cannot connect to the database"),
        ("not a url", ("user", "list"), "database.url is not usable: Could not parse"),
        ("not a url", ("db", "upgrade"), "database.url is not usable: Could not parse"),
        ("mysql://u@h/db", ("group", "list"), "database.url is not usable: No module named"),
        ("file-as-dir", ("user", "list"), "database.url is not usable: cannot create the dir"),
        ("file-as-dir", ("db", "upgrade"), "database.url is not usable: cannot create the dir"),
    ],
)
def test_database_problems_are_one_line_errors(
    make_cli: MakeCli, tmp_path: Path, url: str, args: tuple[str, ...], expected: str
) -> None:
    if url == "unmigrated":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
    elif url == "file-as-dir":
        (tmp_path / "file").write_text("")
        url = f"sqlite:///{tmp_path / 'file' / 'authsvc.db'}"
    cli: Cli = make_cli(url)
    result = cli(*args)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("authsvc: error: ") and expected in result.err
    assert len(result.err.splitlines()) == 1
