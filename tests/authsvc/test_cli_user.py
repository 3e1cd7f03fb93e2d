"""``authsvc user ...`` in process, on SQLite and PostgreSQL (fixtures in conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import bcrypt
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.passwords import PasswordHasher

if TYPE_CHECKING:
    from .conftest import Cli, RunDb


def _user(run_db: RunDb, name: str) -> store.UserRecord | None:
    async def action(session: AsyncSession) -> store.UserRecord | None:
        return await store.get_user(session, name)

    result: store.UserRecord | None = run_db(action)
    return result


def _verifies(run_db: RunDb, hasher: PasswordHasher, name: str, password: str) -> bool:
    user = _user(run_db, name)
    assert user is not None
    return hasher.verify(password, user.password_hash).ok


def test_user_commands(cli: Cli, run_db: RunDb, fast_hasher: PasswordHasher) -> None:
    out = cli.ok("user", "add", "bob")
    assert out.startswith("created user 'bob'\npassword (shown only once): ")
    generated = out.splitlines()[1].rpartition(": ")[2]
    assert len(generated) >= 20 and _verifies(run_db, fast_hasher, "bob", generated)
    cli.ok("user", "add", "carol", "--admin", "--password-stdin", stdin="carol-pw\n")
    assert cli.ok("user", "count") == "2\n"
    assert cli.ok("user", "list").splitlines() == [
        "bob (last login: never)",
        "carol [admin] (last login: never)",
    ]
    listed = json.loads(cli.ok("user", "list", "--json"))
    assert [(u["name"], u["admin"], u["disabled"]) for u in listed] == [
        ("bob", False, False),
        ("carol", True, False),
    ]
    assert "password_hash" not in listed[0]
    assert dt.datetime.fromisoformat(listed[0]["created_at"]).utcoffset() == dt.timedelta(0)

    cli.ok("user", "passwd", "bob", "--password-stdin", stdin="new-pw\n")
    assert _verifies(run_db, fast_hasher, "bob", "new-pw")
    assert not _verifies(run_db, fast_hasher, "bob", generated)
    assert cli.ok("user", "disable", "bob") == "disabled user 'bob'\n"
    bob = _user(run_db, "bob")
    assert bob is not None and bob.disabled
    cli.ok("user", "enable", "bob")
    bob = _user(run_db, "bob")
    assert bob is not None and not bob.disabled
    assert cli.ok("user", "delete", "carol") == "deleted user 'carol'\n"
    assert _user(run_db, "carol") is None


def test_passwd_and_disable_revoke_refresh_tokens(cli: Cli, seeded_db_url: str) -> None:
    out = cli.ok("user", "passwd", "alice", "--password-stdin", stdin="alice-pw-2\n")
    assert out == "changed the password of 'alice'; revoked 1 refresh token(s)\n"
    assert cli.ok("user", "disable", "alice") == "disabled user 'alice'\n"


def test_htpasswd_import(
    cli: Cli, run_db: RunDb, fast_hasher: PasswordHasher, tmp_path: Path
) -> None:
    long_password = "p" * 80  # bcrypt only ever saw the first 72 bytes
    lines = ["# exported from docker_auth", ""]
    for name, password, prefix in (
        ("alice", "alice-pw", b"$2y$"),
        ("bob", long_password, b"$2b$"),
        ("carol", "carol-pw", b"$2a$"),
    ):
        hashed = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(5))
        lines.append(f"{name}:{(prefix + hashed[4:]).decode()}")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("\n".join(lines) + "\n")

    assert cli.ok("user", "import", "--htpasswd", str(htpasswd)) == (
        f"imported 3 user(s) from {htpasswd}\n"
    )
    for name, password in (("alice", "alice-pw"), ("bob", long_password), ("carol", "carol-pw")):
        user = _user(run_db, name)
        assert user is not None and user.password_hash.startswith("$2")
        result = fast_hasher.verify(password, user.password_hash)
        assert result.ok and result.new_hash is not None
        assert result.new_hash.startswith("$argon2id$")
        assert fast_hasher.verify(password, result.new_hash).ok
        assert not fast_hasher.verify("wrong", user.password_hash).ok


def test_mistakes_the_database_reveals(cli: Cli, seeded_db_url: str, tmp_path: Path) -> None:
    partial = tmp_path / "partial.htpasswd"
    good = bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()
    partial.write_text(f"erin:{good}\nalice:{good}\n")  # erin is new, alice exists: all or nothing
    cli.fails(
        [
            (("user", "add", "alice", "--password-stdin"), "pw\n", "user 'alice' already exists"),
            (("user", "passwd", "nobody", "--password-stdin"), "pw\n", "unknown user 'nobody'"),
            (("user", "disable", "nobody"), "", "unknown user 'nobody'"),
            (("user", "delete", "nobody"), "", "unknown user 'nobody'"),
            (("user", "import", "--htpasswd", str(partial)), "", "user 'alice' already exists"),
        ]
    )


def test_mistakes_in_the_input(sqlite_cli: Cli, tmp_path: Path) -> None:
    md5 = tmp_path / "md5.htpasswd"
    md5.write_text("dave:$apr1$abcdefgh$0123456789abcdefghijkl\n")
    sqlite_cli.fails(
        [
            (("user", "add", "@admin", "--password-stdin"), "pw\n", "is reserved"),
            (("user", "add", "\uff20admin"), "", "is reserved"),  # full-width @ after NFKC
            (("user", "add", "a:b"), "", "must not contain ':'"),
            (("user", "add", "a\tb"), "", "control character"),
            (("user", "add", "alice/ci"), "", "must not contain '/'"),
            (("user", "add", "alice\u200b"), "", "invisible character"),
            (("user", "add", "\u0430lice"), "", "several scripts"),
            (("user", "add", "frank", "--password-stdin"), "", "no password given"),
            (("user", "add", "frank", "--password-stdin"), "x" * 2000 + "\n", "longer than"),
            (("user", "import", "--htpasswd", str(tmp_path / "missing")), "", "No such file"),
            (("user", "import", "--htpasswd", str(md5)), "", "only bcrypt hashes"),
        ]
    )


def test_token_ttl(cli: Cli, run_db: RunDb) -> None:
    cli.ok("user", "add", "bob", "--token-ttl", "15m")
    bob = _user(run_db, "bob")
    assert bob is not None and bob.token_ttl == 900
    assert cli.ok("user", "list").splitlines() == ["bob [token ttl 900s] (last login: never)"]
    assert json.loads(cli.ok("user", "list", "--json"))[0]["token_ttl"] == 900
    out = cli.ok("user", "token-ttl", "bob", "60")
    assert out == "access tokens of 'bob' now live 60 seconds\n"
    cli.ok("user", "token-ttl", "bob", "default")
    bob = _user(run_db, "bob")
    assert bob is not None and bob.token_ttl is None
    cli.fails(
        [
            (("user", "add", "carol", "--token-ttl", "59"), "", "at least 60"),
            (("user", "add", "carol", "--token-ttl", "soon"), "", "expected a duration"),
            (("user", "token-ttl", "bob", "90.5"), "", "whole seconds"),
            (("user", "token-ttl", "nobody", "300"), "", "unknown user"),
        ]
    )
    assert _user(run_db, "carol") is None
