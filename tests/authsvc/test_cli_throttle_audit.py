"""``authsvc throttle list|clear`` and ``authsvc audit list|purge``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.models import utcnow

if TYPE_CHECKING:
    from .conftest import Cli, RunDb

A, B = "203.0.113.1", "198.51.100.2"


def block(run_db: RunDb, user: str, address: str, minutes: int = 10) -> None:
    now = utcnow()

    async def action(session: AsyncSession) -> None:
        await store.add_login_failure(session, user, address, now, lambda n: minutes * 60)

    run_db(action)


def test_throttle_list_and_clear(cli: Cli, run_db: RunDb) -> None:
    assert cli.ok("throttle", "list") == "no blocks\n"
    block(run_db, "alice", A)
    block(run_db, "", A)
    block(run_db, "bob", B)
    block(run_db, "carol", B, minutes=0)  # counted, not blocked
    listed = json.loads(cli.ok("throttle", "list", "--json"))
    assert sorted((r["user"] or "", r["address"]) for r in listed) == [
        ("", A),
        ("alice", A),
        ("bob", B),
    ]
    assert all(r["blocked_until"] and r["failures"] == 1 for r in listed)
    text = cli.ok("throttle", "list")
    assert f"user alice from {A}: 1 failure(s), blocked until " in text
    assert f"address {A}: 1 failure(s), blocked until " in text
    assert "carol" not in text and "carol" in cli.ok("throttle", "list", "--all")
    # A user at an address: the pair and the address's own block.
    assert cli.ok("throttle", "clear", "--user", "alice", "--address", A) == (
        "cleared 2 failure count(s)\n"
    )
    assert cli.ok("throttle", "clear", "--user", "bob") == "cleared 1 failure count(s)\n"
    assert cli.ok("throttle", "list") == "no blocks\n"
    assert cli.ok("throttle", "clear") == "cleared 1 failure count(s)\n"  # carol's count


def test_cli_changes_are_audited_and_listed(cli: Cli) -> None:
    cli.ok("user", "add", "dave", "--password-stdin", stdin="s3cret-pw\n")
    cli.ok("group", "add", "ops")
    cli.ok("user", "list")  # read-only: no row
    cli.ok("throttle", "clear", "--address", A)
    rows = json.loads(cli.ok("audit", "list", "--json"))
    assert [r["event"] for r in rows] == ["admin"] * 3
    details = [r["detail"] for r in rows]
    assert details[0] == "user add name=dave"
    assert details[1] == "group add name=ops"
    assert details[2] == f"throttle clear address={A}"
    assert "s3cret-pw" not in json.dumps(rows)
    assert all(r["client_id"] == "authsvc-cli" for r in rows)


def test_audit_list_filters(cli: Cli, run_db: RunDb) -> None:
    now = utcnow()

    async def action(session: AsyncSession) -> None:
        await store.add_audit_events(
            session,
            [
                store.AuditRecord(at=now - dt.timedelta(hours=3), event="login_failed",
                                  subject="alice", address=A),
                store.AuditRecord(at=now - dt.timedelta(minutes=5), event="token_issued",
                                  subject="alice", jti="j1", granted="repository:a:pull"),
                store.AuditRecord(at=now - dt.timedelta(minutes=1), event="throttled",
                                  subject="mallory", address=B, detail="TOOMANYREQUESTS: x"),
            ],
        )  # fmt: skip

    run_db(action)

    def subjects(*args: str) -> list[str]:
        return [r["subject"] for r in json.loads(cli.ok("audit", "list", "--json", *args))]

    assert subjects() == ["alice", "alice", "mallory"]
    assert subjects("--since", "1h") == ["alice", "mallory"]
    assert subjects("--user", "alice") == ["alice", "alice"]
    assert subjects("--event", "throttled") == ["mallory"]
    assert subjects("--since", "10m", "--user", "alice", "--event", "token_issued") == ["alice"]
    text = cli.ok("audit", "list", "--event", "token_issued")
    assert " token_issued alice " in text and "jti=j1" in text
    assert cli("audit", "list", "--since", "soon").code == 1
    assert cli("audit", "list", "--event", "nope").code == 2
    assert cli.ok("audit", "purge") == "purged 0 audit row(s)\n"


def test_robot_changes_are_audited(cli: Cli) -> None:
    cli.ok("robot", "add", "ci", "--scope", "repository:team/*:pull")
    cli.ok("robot", "secret", "rotate", "ci", "--overlap", "1h")
    cli.ok("robot", "list")
    rows = json.loads(cli.ok("audit", "list", "--json"))
    assert [r["detail"] for r in rows] == [
        "robot add name=ci scope=['repository:team/*:pull']",
        "robot secret rotate name=ci overlap=1h",
    ]
