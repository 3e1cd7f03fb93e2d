"""``authsvc throttle list|clear`` in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.models import utcnow

if TYPE_CHECKING:
    from .conftest import Cli, RunDb


def block(run_db: RunDb, key: str, seconds: int) -> None:
    async def action(session: AsyncSession) -> None:
        await store.count_failure(
            session,
            key,
            utcnow(),
            reset_before=utcnow() - dt.timedelta(hours=1),
            block_for=lambda failures: float(seconds),
        )

    run_db(action)


def test_list_and_clear(cli: Cli, run_db: RunDb) -> None:
    assert cli.ok("throttle", "list") == "no logins are blocked\n"
    block(run_db, "user:alice@10.0.0.1", 600)
    block(run_db, "user:bob@10.0.0.2", 300)
    block(run_db, "address:10.0.0.2", 60)
    listed = json.loads(cli.ok("throttle", "list", "--json"))
    assert [row["key"] for row in listed] == [
        "user:alice@10.0.0.1",
        "user:bob@10.0.0.2",
        "address:10.0.0.2",
    ]
    assert 590 <= listed[0]["seconds_left"] <= 600
    assert cli.ok("throttle", "clear", "--user", "ALICE").startswith("cleared 1 ")
    assert cli.ok("throttle", "clear", "--address", "10.0.0.2").startswith("cleared 2 ")
    assert cli.ok("throttle", "list") == "no logins are blocked\n"
    block(run_db, "user:carol@10.0.0.3", 60)
    assert cli.ok("throttle", "clear").startswith("cleared 1 ")
