"""Alembic migrations: upgrade, downgrade, upgrade again, and no drift from the models."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, inspect

from authsvc import db
from authsvc.config import DatabaseConfig
from authsvc.models import Base

TABLES = {
    "users",
    "groups",
    "group_members",
    "acl_rules",
    "refresh_tokens",
    "directory_groups",
    "personal_access_tokens",
    "web_sessions",
    "login_failures",
    "audit_events",
    "trusts",
}


# The tests are async, so the helpers await the database; the alembic commands (db.upgrade and
# those below) block, each in a thread of its own, which is fine in a test.


async def _tables(url: str) -> set[str]:
    engine = db.make_engine(DatabaseConfig(url=url))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _revision(url: str) -> str | None:
    engine = db.make_engine(DatabaseConfig(url=url))
    try:
        return await db.current_revision(engine)
    finally:
        await engine.dispose()


def _alembic(fn: Callable[..., None], url: str, *args: str) -> None:
    # Alembic commands run env.py, which calls asyncio.run: keep them off the test's thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(fn, db.alembic_config(url), *args).result()


def _check(url: str) -> None:
    _alembic(command.check, url)


def _downgrade(url: str, revision: str) -> None:
    # Only tests go down: production has `authsvc db upgrade` and nothing else (alembic is the
    # one path for schema changes, and a downgrade would drop tables with data).
    _alembic(command.downgrade, url, revision)


# The head revision; every migration test below runs the whole chain up to it.
HEAD = db.head_revision()


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(db.alembic_config())
    revisions = [r.revision for r in script.walk_revisions()]
    # Numbered 0001, 0002, ... in order, one head: no branch waiting for a merge migration.
    assert revisions == [f"{n:04d}" for n in range(len(revisions), 0, -1)]
    assert script.get_heads() == [HEAD] == [revisions[0]]


async def test_upgrade_downgrade_upgrade_and_no_drift(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From another working directory: the config is found relative to the package.
    monkeypatch.chdir(tmp_path)
    assert await _revision(empty_db_url) is None
    db.upgrade(empty_db_url)
    assert await _revision(empty_db_url) == HEAD
    assert await _tables(empty_db_url) >= TABLES
    assert {t.name for t in Base.metadata.sorted_tables} == TABLES
    _check(empty_db_url)

    _downgrade(empty_db_url, "0001")
    assert await _revision(empty_db_url) == "0001"
    assert "refresh_tokens" not in await _tables(empty_db_url)

    _downgrade(empty_db_url, "base")
    assert await _revision(empty_db_url) is None
    assert (await _tables(empty_db_url)) & TABLES == set()

    db.upgrade(empty_db_url)
    assert await _revision(empty_db_url) == HEAD
    _check(empty_db_url)


async def _diff(url: str, metadata: MetaData) -> list[object]:
    engine = db.make_engine(DatabaseConfig(url=url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: list(compare_metadata(MigrationContext.configure(c), metadata))
            )
    finally:
        await engine.dispose()


async def test_drift_is_detected(empty_db_url: str) -> None:
    db.upgrade(empty_db_url)
    assert await _diff(empty_db_url, Base.metadata) == []
    # The same comparison must notice a model that the migrations do not create.
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for t in Base.metadata.sorted_tables:
        t.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("email", String(255)))
    (diff,) = await _diff(empty_db_url, drifted)
    assert diff[0] == "add_column" and diff[3].name == "email"  # type: ignore[index]


def test_migrations_ship_inside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revisions are package data (a wheel carries them); without them the error says where
    they were expected, whatever the working directory."""
    from authsvc import db as dbmod

    assert dbmod.migrations_dir() == Path(dbmod.__file__).resolve().parent / "migrations"
    assert dbmod.head_revision() is not None
    monkeypatch.chdir(tmp_path)
    assert dbmod.head_revision() is not None
    monkeypatch.setattr(dbmod, "MIGRATIONS_DIR", tmp_path / "site-packages" / "migrations")
    with pytest.raises(dbmod.MigrationsNotFound, match="site-packages/migrations"):
        dbmod.migrations_dir()
