"""The real ``authsvc`` console script in a subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bcrypt
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.acl import rule_to_dict
from authsvc.config import PasswordConfig
from authsvc.passwords import PasswordHasher
from tests.support import free_port

from .conftest import dump, run_on

AUTHSVC = str(Path(sys.executable).with_name("authsvc"))
# Cheap argon2 parameters: the CLI hashes on every user add/passwd.
FAST = {"AUTHSVC_ARGON2_MEMORY_COST": "1024", "AUTHSVC_ARGON2_TIME_COST": "1"}
HASHER = PasswordHasher(PasswordConfig(argon2_memory_cost=1024, argon2_time_cost=1))


def cli(
    url: str, *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``authsvc ARGS`` against the database at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(FAST, AUTHSVC_DATABASE_URL=url)
    return subprocess.run(
        [AUTHSVC, *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        # Not the repository: the CLI must find migrations/ relative to the package.
        cwd=cwd or tempfile.gettempdir(),
        timeout=120,
    )


def ok(url: str, *args: str, stdin: str | None = None) -> str:
    """Run a command that must succeed; return its stdout."""
    result = cli(url, *args, stdin=stdin)
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return result.stdout


def password_of(url: str, name: str) -> str:
    """The stored hash of a user."""

    async def action(session: AsyncSession) -> str:
        user = await store.get_user(session, name)
        assert user is not None
        return user.password_hash

    return run_on(url, action)


def verifies(url: str, name: str, password: str) -> bool:
    """Whether ``password`` is the user's password."""
    return HASHER.verify(password, password_of(url, name)).ok


def seed(url: str) -> None:
    """alice (in group devs), bob, one rule, one refresh token of alice."""

    async def action(session: AsyncSession) -> None:
        alice = await store.create_user(session, "alice", HASHER.hash("alice-pw"))
        await store.create_user(session, "bob", HASHER.hash("bob-pw"))
        await store.create_group(session, "devs")
        await store.add_member(session, "devs", "alice")
        await store.add_rule(session, account="alice", name="${account}/*", actions=["pull"])
        await store.create_refresh_token(
            session,
            user_id=alice.id,
            token_hash="a" * 64,
            service="registry",
            client_id="docker",
            expires_at=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        )

    run_on(url, action)


# --- the scenario of issue 2's "Done when" ---------------------------------------------------


def test_done_when_scenario(empty_db_url: str) -> None:
    url = empty_db_url
    assert ok(url, "db", "current").startswith("none")
    assert ok(url, "db", "upgrade") == "database at revision 0002 (head)\n"
    assert ok(url, "db", "current") == "0002 (head)\n"
    assert ok(url, "user", "add", "alice", "--password-stdin", stdin="s3cret\n") == (
        "created user 'alice'\n"
    )
    assert verifies(url, "alice", "s3cret")
    ok(url, "acl", "add", "--account", "alice", "--name", "${account}/*", "--actions", "pull,push")
    out = ok(
        url, "acl", "check", "alice", "repository:alice/app:pull,push", "repository:bob/app:pull"
    )
    assert out.splitlines() == [
        "repository:alice/app:pull,push -> pull,push "
        "(rule #1: allow account=alice name=${account}/* actions=pull,push)",
        "repository:bob/app:pull -> (none) (no rule matched)",
    ]


# --- every command ---------------------------------------------------------------------------


def user_row(url: str, name: str) -> store.UserRecord | None:
    """Read a user in-process (cheaper than another subprocess when the output is not the point)."""
    return run_on(url, lambda session: store.get_user(session, name))


def test_user_commands(db_url: str) -> None:
    out = ok(db_url, "user", "add", "bob")
    assert out.startswith("created user 'bob'\npassword (shown only once): ")
    generated = out.splitlines()[1].rpartition(": ")[2]
    assert len(generated) >= 20 and verifies(db_url, "bob", generated)
    ok(db_url, "user", "add", "carol", "--admin", "--password-stdin", stdin="carol-pw\n")
    assert ok(db_url, "user", "count") == "2\n"
    assert ok(db_url, "user", "list").splitlines() == [
        "bob (last login: never)",
        "carol [admin] (last login: never)",
    ]
    listed = json.loads(ok(db_url, "user", "list", "--json"))
    assert [(u["name"], u["admin"], u["disabled"]) for u in listed] == [
        ("bob", False, False),
        ("carol", True, False),
    ]
    assert "password_hash" not in listed[0]
    assert dt.datetime.fromisoformat(listed[0]["created_at"]).utcoffset() == dt.timedelta(0)

    ok(db_url, "user", "passwd", "bob", "--password-stdin", stdin="new-pw\n")
    assert verifies(db_url, "bob", "new-pw") and not verifies(db_url, "bob", generated)
    assert ok(db_url, "user", "disable", "bob") == "disabled user 'bob'\n"
    bob = user_row(db_url, "bob")
    assert bob is not None and bob.disabled
    ok(db_url, "user", "enable", "bob")
    bob = user_row(db_url, "bob")
    assert bob is not None and not bob.disabled
    assert ok(db_url, "user", "delete", "carol") == "deleted user 'carol'\n"
    assert user_row(db_url, "carol") is None


def test_group_commands(db_url: str) -> None:
    seed(db_url)  # group devs: alice
    assert ok(db_url, "group", "add", "ops") == "created group 'ops'\n"
    assert ok(db_url, "group", "member", "add", "ops", "bob") == "added 'bob' to group 'ops'\n"
    assert ok(db_url, "group", "list").splitlines() == ["devs: alice", "ops: bob"]
    ok(db_url, "group", "member", "remove", "devs", "alice")
    listed = json.loads(ok(db_url, "group", "list", "--json"))
    assert [(g["name"], g["members"]) for g in listed] == [("devs", []), ("ops", ["bob"])]
    ok(db_url, "group", "delete", "ops")
    groups = run_on(db_url, store.list_groups)
    assert [g.name for g in groups] == ["devs"]


def test_acl_commands(db_url: str, tmp_path: Path) -> None:
    seed(db_url)  # rule #1: alice ${account}/* pull; alice is in group devs

    async def more_rules(session: AsyncSession) -> None:
        await store.add_rule(session, account="@anonymous", name="public/*", actions=["pull"])
        await store.add_rule(
            session, account="admin", type="registry", name="catalog", actions=["*"]
        )

    add = ("acl", "add", "--account")
    ok(db_url, *add, "*", "--name", "secret/*", "--effect", "deny", "--priority", "10")
    run_on(db_url, more_rules)
    out = ok(
        db_url,
        *add,
        "group:devs",
        "--name",
        "team/*",
        "--actions",
        "pull,push,delete",
        "--priority",
        "50",
        "--service",
        "registry",
        "--comment",
        "devs own team/",
    )
    assert out == (
        "added rule #5: allow priority=50 account=group:devs name=team/* service=registry "
        "actions=pull,push,delete comment='devs own team/'\n"
    )
    assert ok(db_url, "acl", "list").splitlines() == [
        "#2: deny priority=10 account=* name=secret/*",
        "#5: allow priority=50 account=group:devs name=team/* service=registry "
        "actions=pull,push,delete comment='devs own team/'",
        "#1: allow account=alice name=${account}/* actions=pull",
        "#3: allow account=@anonymous name=public/* actions=pull",
        "#4: allow account=admin type=registry name=catalog actions=*",
    ]
    listed = json.loads(ok(db_url, "acl", "list", "--json"))
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
        "created_at": None,
    }

    out = ok(
        db_url,
        "acl",
        "check",
        "alice",
        "repository:team/app:delete,pull",
        "repository:secret/x:pull",
        "repository:alice/a:push repository:public/x:pull",
    )
    assert out.splitlines() == [
        "repository:team/app:delete,pull -> delete,pull (rule #5: allow priority=50 "
        "account=group:devs name=team/* service=registry actions=pull,push,delete "
        "comment='devs own team/')",
        "repository:secret/x:pull -> (none) (rule #2: deny priority=10 account=* name=secret/*)",
        "repository:alice/a:push -> (none) (rule #1: allow account=alice name=${account}/* "
        "actions=pull)",
        "repository:public/x:pull -> (none) (no rule matched)",
    ]
    checked = json.loads(
        ok(
            db_url,
            "acl",
            "check",
            "--json",
            "@anonymous",
            "repository:public/x:pull,push",
            "repository:alice/app:pull",
        )
    )
    assert [(c["scope"], c["granted"], c["rule"] and c["rule"]["id"]) for c in checked] == [
        ("repository:public/x:pull,push", ["pull"], 3),
        ("repository:alice/app:pull", [], None),
    ]

    exported = ok(db_url, "acl", "export")
    assert yaml.safe_load(exported)["acl"][0] == {
        "match": {"account": "*", "type": "repository", "name": "secret/*"},
        "actions": [],
        "priority": 10,
    }
    backup = tmp_path / "acl.yml"
    backup.write_text(exported)
    assert ok(db_url, "acl", "delete", "2").startswith("deleted rule #2: deny")
    assert ok(db_url, "acl", "import", "--replace", str(backup)).startswith(
        "replaced all rules with 5 rule(s)"
    )
    restored = run_on(db_url, store.list_rules)
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
    assert ok(db_url, "acl", "import", str(docker_auth)) == (
        f"imported 2 rule(s) from {docker_auth}\n"
    )
    last = run_on(db_url, store.list_rules)[-2:]
    assert [(r.account, r.type, r.name, r.actions) for r in last] == [
        ("/.+/", "*", "${account}/*", ("*",)),
        ("@anonymous", "*", "hello-world", ("pull",)),
    ]


def test_token_commands(db_url: str) -> None:
    seed(db_url)
    listed = json.loads(ok(db_url, "token", "list", "--json", "--user", "alice"))
    assert [(t["user"], t["client_id"], t["status"]) for t in listed] == [
        ("alice", "docker", "active")
    ]
    token_id = str(listed[0]["id"])
    assert ok(db_url, "token", "revoke", token_id) == (
        f"revoked refresh token #{token_id} of 'alice'\n"
    )
    out = ok(db_url, "token", "list")
    assert out.startswith(f"#{token_id} alice service=registry client_id=docker created=")
    assert out.endswith(" revoked\n") and "a" * 64 not in out
    assert ok(db_url, "token", "revoke", "--user", "alice") == (
        "revoked 0 refresh token(s) of 'alice'\n"
    )


def test_htpasswd_import(db_url: str, tmp_path: Path) -> None:
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

    assert ok(db_url, "user", "import", "--htpasswd", str(htpasswd)) == (
        f"imported 3 user(s) from {htpasswd}\n"
    )
    for name, password in (("alice", "alice-pw"), ("bob", long_password), ("carol", "carol-pw")):
        stored = password_of(db_url, name)
        assert stored.startswith("$2")
        result = HASHER.verify(password, stored)
        assert result.ok and result.new_hash is not None
        assert result.new_hash.startswith("$argon2id$")
        assert HASHER.verify(password, result.new_hash).ok
        assert not HASHER.verify("wrong", stored).ok


# --- mistakes: one line on stderr, exit 1, database unchanged -------------------------------


Mistake = tuple[tuple[str, ...], str | None, str]  # arguments, stdin, expected message


def _db_mistakes(tmp_path: Path) -> list[Mistake]:
    """Mistakes that the database reveals (duplicates, unknown names): run on every backend."""
    partial = tmp_path / "partial.htpasswd"
    good = bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()
    partial.write_text(f"erin:{good}\nalice:{good}\n")  # erin is new, alice exists
    return [
        (("user", "add", "alice", "--password-stdin"), "pw\n", "user 'alice' already exists"),
        (("user", "passwd", "nobody", "--password-stdin"), "pw\n", "unknown user 'nobody'"),
        (("user", "disable", "nobody"), None, "unknown user 'nobody'"),
        (("user", "delete", "nobody"), None, "unknown user 'nobody'"),
        (("user", "import", "--htpasswd", str(partial)), None, "user 'alice' already exists"),
        (("group", "add", "devs"), None, "group 'devs' already exists"),
        (("group", "delete", "nope"), None, "unknown group 'nope'"),
        (("group", "member", "add", "devs", "nobody"), None, "unknown user 'nobody'"),
        (("group", "member", "add", "devs", "alice"), None, "already a member"),
        (("group", "member", "remove", "devs", "bob"), None, "not a member"),
        (
            ("acl", "add", "--account", "x", "--name", "/[a-/", "--actions", "pull"),
            None,
            "name: invalid regex '/[a-/'",
        ),
        (("acl", "delete", "999"), None, "unknown rule #999"),
        (("acl", "check", "nobody", "repository:x:pull"), None, "unknown user 'nobody'"),
        (("token", "revoke", "999"), None, "unknown refresh token #999"),
        (("token", "revoke", "--user", "nobody"), None, "unknown user 'nobody'"),
        (("token", "list", "--user", "nobody"), None, "unknown user 'nobody'"),
    ]


def _input_mistakes(tmp_path: Path) -> list[Mistake]:
    """Mistakes caught before any SQL runs (names, patterns, files): one backend suffices."""
    md5 = tmp_path / "md5.htpasswd"
    md5.write_text("dave:$apr1$abcdefgh$0123456789abcdefghijkl\n")
    bad_acl = tmp_path / "bad-acl.yml"
    bad_acl.write_text(
        "acl:\n  - match: {account: x}\n    actions: [pull]\n"
        "  - match: {account: y, ip: 10.0.0.1}\n    actions: [pull]\n"
    )
    not_yaml = tmp_path / "not.yml"
    not_yaml.write_text("acl: [\n")
    add = ("acl", "add", "--account", "alice", "--name")
    return [
        (("user", "add", "@admin", "--password-stdin"), "pw\n", "is reserved"),
        (("user", "add", "\uff20admin"), None, "is reserved"),  # full-width @ after NFKC
        (("user", "add", "a:b"), None, "must not contain ':'"),
        (("user", "add", "a\tb"), None, "control character"),
        (("user", "add", "frank", "--password-stdin"), "", "no password given"),
        (("user", "add", "frank", "--password-stdin"), "x" * 2000 + "\n", "longer than"),
        (("user", "import", "--htpasswd", str(tmp_path / "missing")), None, "No such file"),
        (("user", "import", "--htpasswd", str(md5)), None, "only bcrypt hashes"),
        (("group", "add", "@all"), None, "is reserved"),
        ((*add, "x[", "--actions", "pull"), None, "name: invalid glob 'x['"),
        ((*add, "x", "--actions", "pull,fly"), None, "unknown action 'fly'"),
        ((*add, "x", "--actions", "pull", "--priority", "high"), None, "priority: expected"),
        ((*add, "x", "--actions", "pull", "--priority", "9999999"), None, "priority: must be"),
        ((*add, "x"), None, "needs at least one action"),
        ((*add, "x", "--effect", "deny", "--actions", "pull"), None, "takes no actions"),
        ((*add, "${user}/*", "--actions", "pull"), None, "unknown variable"),
        ((*add, "x", "--actions", "pull", "--service", "/(/"), None, "service: invalid regex"),
        (
            ("acl", "add", "--account", "@root", "--name", "x", "--actions", "pull"),
            None,
            "reserved",
        ),
        (
            ("acl", "add", "--account", "/(/", "--name", "x", "--actions", "pull"),
            None,
            "account: invalid regex",
        ),
        (("acl", "check", "alice", "repository:X:pull"), None, "malformed scope"),
        (
            ("acl", "check", "alice", "repository:x:pull", "--service", "other"),
            None,
            "unknown service 'other'",
        ),
        (("acl", "import", str(bad_acl)), None, "acl[1].match: unsupported condition(s): ip"),
        (("acl", "import", "--replace", str(bad_acl)), None, "unsupported condition"),
        (("acl", "import", str(not_yaml)), None, "invalid YAML"),
        (("acl", "import", str(tmp_path / "missing.yml")), None, "No such file"),
    ]


def test_mistakes_exit_1_with_one_line_and_change_nothing(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    before = dump(db_url)
    cases = _db_mistakes(tmp_path)
    if db_url.startswith("sqlite"):
        cases += _input_mistakes(tmp_path)

    def attempt(case: Mistake) -> str | None:
        args, stdin, expected = case
        result = cli(db_url, *args, stdin=stdin)
        lines = result.stderr.splitlines()
        if result.returncode != 1 or len(lines) != 1 or result.stdout:
            return f"{args}: exit {result.returncode}, stdout {result.stdout!r}, stderr {lines}"
        if not lines[0].startswith("authsvc: error: ") or expected not in lines[0]:
            return f"{args}: expected {expected!r} in {lines[0]!r}"
        return None

    # None of these commands may write, so they can run side by side (each costs ~1 s of
    # interpreter start-up); the dump afterwards proves that none of them did.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(attempt, cases) if p is not None]
    assert problems == []
    assert dump(db_url) == before


def test_database_problems_are_one_line_errors(tmp_path: Path) -> None:
    unmigrated = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    unreachable = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    for url, args, expected in (
        (unmigrated, ("user", "list"), "is it migrated? run 'authsvc db upgrade'"),
        (unreachable, ("user", "count"), "cannot connect to the database"),
        (unreachable, ("db", "upgrade"), "cannot connect to the database"),
        ("not a url", ("user", "list"), "database.url is not usable"),
    ):
        result = cli(url, *args)
        assert result.returncode == 1, result
        assert result.stderr.startswith("authsvc: error: ") and expected in result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    for args in (
        (),
        ("nosuch",),
        ("acl", "delete", "abc"),
        ("acl", "add", "--name", "x", "--actions", "pull"),
        ("token", "revoke", "1", "--user", "alice"),
        ("group", "member", "add", "devs"),
    ):
        result = cli(url, *args)
        assert result.returncode == 2, args
        assert "usage: authsvc" in result.stderr
    assert not (tmp_path / "unused.db").exists()
