"""The ``authsvc`` console script: real processes for exit statuses and stdin, and the parser.

Each command group has its own in-process tests (test_cli_user.py, test_cli_group.py, ...).
Here a few commands run as real processes, from a working directory outside the repository, to
prove what only a process shows: the exit statuses 0/1/2, ``--password-stdin`` on a pipe, and
that migrations/ is found relative to the package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import db, store
from authsvc.passwords import PasswordHasher

if TYPE_CHECKING:
    from .conftest import Cli, MakeCli, RunAt

AUTHSVC = str(Path(sys.executable).with_name("authsvc"))
# Cheap argon2 parameters, as the in-process ``cli`` fixture sets them.
FAST = {"AUTHSVC_ARGON2_MEMORY_COST": "1024", "AUTHSVC_ARGON2_TIME_COST": "1"}


def authsvc(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``authsvc ARGS`` as a process against the database at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(FAST, AUTHSVC_DATABASE_URL=url)
    return subprocess.run(
        [AUTHSVC, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        # Not the repository: the CLI must find migrations/ relative to the package.
        cwd=tempfile.gettempdir(),
        timeout=120,
    )


def test_console_script_from_an_empty_database_to_an_acl_decision(
    empty_db_url: str, run_at: RunAt, fast_hasher: PasswordHasher
) -> None:
    url = empty_db_url

    def ok(*args: str, stdin: str = "") -> str:
        result = authsvc(url, *args, stdin=stdin)
        assert (result.returncode, result.stderr) == (0, ""), args
        return result.stdout

    assert ok("db", "upgrade") == f"database at revision {db.head_revision()} (head)\n"
    assert ok("user", "add", "alice", "--password-stdin", stdin="s3cret\n") == (
        "created user 'alice'\n"
    )

    async def stored_hash(session: AsyncSession) -> str:
        user = await store.get_user(session, "alice")
        assert user is not None
        return user.password_hash

    # On a pipe, --password-stdin takes the line without its line ending.
    assert fast_hasher.verify("s3cret", run_at(url, stored_hash)).ok
    ok("acl", "add", "--account", "alice", "--name", "${account}/*", "--actions", "pull,push")
    out = ok("acl", "check", "alice", "repository:alice/app:pull,push", "repository:bob/x:pull")
    assert out.splitlines() == [
        "repository:alice/app:pull,push -> pull,push "
        "(rule #1: allow account=alice name=${account}/* actions=pull,push)",
        "repository:bob/x:pull -> (none) (no rule matched)",
    ]


def test_a_user_error_exits_1_with_one_line(db_url: str) -> None:
    result = authsvc(db_url, "user", "passwd", "nobody", "--password-stdin", stdin="pw\n")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "authsvc: error: unknown user 'nobody'\n"


def test_a_usage_error_exits_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    result = authsvc(url, "acl", "delete", "abc")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: authsvc acl delete")
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("nosuch",),
        ("user",),
        ("acl", "delete", "abc"),
        ("acl", "add", "--name", "x", "--actions", "pull"),
        ("token", "revoke", "1", "--user", "alice"),
        ("group", "member", "add", "devs"),
        ("user", "list", "--config"),
    ],
)
def test_usage_errors_exit_2(make_cli: MakeCli, tmp_path: Path, args: tuple[str, ...]) -> None:
    cli: Cli = make_cli(f"sqlite:///{tmp_path / 'unused.db'}")
    result = cli(*args)
    assert (result.code, result.out) == (2, "")
    assert "usage: authsvc" in result.err
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("--config", "{config}", "user", "count"),
        ("--config={config}", "user", "count"),
        ("user", "--config", "{config}", "count"),
        ("user", "count", "--config", "{config}"),
        ("user", "count", "--config={config}"),
    ],
    ids=["before", "before=", "between", "after", "after="],
)
def test_config_file_before_or_after_the_command(
    make_cli: MakeCli, db_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    config = tmp_path / "authsvc.yml"
    config.write_text(f"database:\n  url: {db_url}\n")
    cli: Cli = make_cli(None)  # the database comes from the file only
    assert cli.ok(*(a.format(config=config) for a in args)) == "0\n"


def test_the_last_config_option_wins(make_cli: MakeCli, db_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text(f"database:\n  url: {db_url}\n")
    cli: Cli = make_cli(None)
    assert cli.ok("--config", str(tmp_path / "missing.yml"), "user", "count", "--config", str(good))
    result = cli("--config", str(good), "user", "count", "--config", str(tmp_path / "missing.yml"))
    assert result.code == 1 and "missing.yml: No such file" in result.err
