"""store.transaction and db.make_engine: database failures leave as the store's own errors.

An unusable SQLite file, an unmigrated database and a PostgreSQL port where nothing listens all
raise ``StoreUnavailable``; an error that retrying cannot fix raises ``QueryFailed``; and neither
the messages nor the engine's echo log ever show statement parameters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc import db, store
from authsvc.config import DatabaseConfig

Sessions = async_sessionmaker[AsyncSession]
# Nothing listens on port 1, so the connection is refused at once (no timeout to wait for).
CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"
SECRET = "$argon2id$v=19$m=1024,t=1,p=1$c2VjcmV0LXNhbHQ$SECRET-HASH-VALUE"


class MakeSessions(Protocol):
    def __call__(self, url: str, *, echo: bool = False) -> Sessions: ...


@pytest.fixture
async def make_sessions() -> AsyncIterator[MakeSessions]:
    """Sessions on any URL; the engines are disposed after the test."""
    engines: list[AsyncEngine] = []

    def make(url: str, *, echo: bool = False) -> Sessions:
        engine = db.make_engine(DatabaseConfig(url=url, echo=echo))
        engines.append(engine)
        return db.make_sessionmaker(engine)

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("directory", "database error: unable to open database file"),
        ("unmigrated", r"no such table: users \(is it migrated\? run 'authsvc db upgrade'\)"),
        ("closed-port", "cannot connect to the database"),
    ],
)
async def test_outages_become_store_unavailable(
    make_sessions: MakeSessions, tmp_path: Path, where: str, expected: str
) -> None:
    url = {
        # A directory where the database file should be: SQLite cannot open it.
        "directory": f"sqlite+aiosqlite:///{tmp_path}",
        "unmigrated": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        "closed-port": CLOSED_PORT_URL,
    }[where]
    sessions = make_sessions(url)
    threads_before = set(threading.enumerate())
    with pytest.raises(store.StoreUnavailable, match=expected) as caught:
        async with store.transaction(sessions) as session:
            await store.count_users(session)
    assert len(str(caught.value).splitlines()) == 1
    if where == "directory":
        # After a failed connect aiosqlite stops its worker thread with a future that nobody
        # awaits; let the thread end while this test's event loop is open, or it reports
        # "Event loop is closed" during a later test.
        for thread in set(threading.enumerate()) - threads_before:
            if thread.name.endswith("(_connection_worker_thread)"):
                thread.join(timeout=10)
                assert not thread.is_alive()


async def test_unusable_urls_are_config_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    for url, expected in (
        ("not a url", "database.url is not usable: Could not parse"),
        ("mysql://u@h/db", "database.url is not usable: No module named"),
        (f"sqlite:///{a_file}/authsvc.db", f"cannot create the directory {a_file}"),
    ):
        with pytest.raises(db.DatabaseUrlError, match=expected):
            db.make_engine(DatabaseConfig(url=url))


async def test_commit_rollback_and_other_exceptions(sessionmaker: Sessions) -> None:
    async with store.transaction(sessionmaker) as session:
        await store.create_group(session, "committed")
    async with store.transaction(sessionmaker, commit=False) as session:
        await store.create_group(session, "read-only-block")
    with pytest.raises(KeyError):
        async with store.transaction(sessionmaker) as session:
            await store.create_group(session, "rolled-back")
            raise KeyError("not a database error: passes through unchanged")
    async with store.transaction(sessionmaker, commit=False) as session:
        assert [g.name for g in await store.list_groups(session)] == ["committed"]


async def test_a_refused_statement_is_query_failed(sessionmaker: Sessions) -> None:
    # The effect column has a CHECK constraint: both backends refuse, and retrying cannot help.
    insert = text(
        "INSERT INTO acl_rules (priority, account, name, type, actions, effect, created_at) "
        "VALUES (1, 'a', 'b', 'c', '', 'maybe', CURRENT_TIMESTAMP)"
    )
    with pytest.raises(store.QueryFailed, match=r"^database error: ") as caught:
        async with store.transaction(sessionmaker) as session:
            await session.execute(insert)
    assert not isinstance(caught.value, store.StoreUnavailable)
    assert "INSERT" not in str(caught.value)


async def test_statement_parameters_never_reach_logs_or_messages(
    make_sessions: MakeSessions,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sessions = make_sessions(db_url, echo=True)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    async with store.transaction(sessions) as session:
        await store.create_user(session, "alice", SECRET)
    # A second row with the same name fails at the database (unique index), parameters and all.
    insert = text(
        "INSERT INTO users (name, password_hash, admin, disabled, created_at, updated_at) "
        "VALUES (:name, :hash, false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    with pytest.raises(store.QueryFailed) as caught:
        async with store.transaction(sessions) as session:
            await session.execute(insert, {"name": "alice", "hash": SECRET})
    logged = caplog.text + capsys.readouterr().out
    assert "INSERT INTO users" in logged  # echo is on: the statements are logged ...
    assert "parameters hidden" in logged  # ... without their parameters
    assert "SECRET-HASH-VALUE" not in logged
    assert "SECRET-HASH-VALUE" not in str(caught.value)
    assert "SECRET-HASH-VALUE" not in str(caught.value.__cause__)
