"""Database fixtures for authsvc tests: migrated SQLite and PostgreSQL databases.

- ``db_url`` is parametrised over ``sqlite`` and ``postgres``. SQLite gets a fresh copy of a
  database migrated once per run; PostgreSQL uses one database per test run, created from
  ``AUTHSVC_TEST_POSTGRES_URL`` (``CREATE DATABASE authsvc_test_<random>``), migrated once and
  truncated before each test, then dropped at the end. The postgres cases are skipped only when
  the variable is unset.
- ``empty_db_url`` is the same pair, but never migrated (for migration and ``db upgrade`` tests).
- ``sessionmaker`` is an ``async_sessionmaker`` on ``db_url``.
- ``run_on(url, action)`` / the ``run_db`` fixture run an async function with a session and
  commit, from synchronous tests; ``dump(url)`` / ``dump_db`` return every row of every table, to
  prove that a failed command changed nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import db
from authsvc.config import DatabaseConfig, normalize_database_url
from authsvc.models import Base

T = TypeVar("T")

POSTGRES_ENV = "AUTHSVC_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def run_sync(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function to completion in a private thread (safe under pytest-asyncio)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fn()).result()  # type: ignore[arg-type]


class PostgresDatabases:
    """Creates uniquely named databases on the test server and drops them all at the end."""

    def __init__(self, admin_url: str) -> None:
        """Connect through ``admin_url`` (the ``test`` database) for CREATE/DROP DATABASE."""
        self.admin_url = admin_url
        self.prefix = f"authsvc_test_{secrets.token_hex(4)}"
        self.created: list[str] = []

    async def _execute(self, statement: str) -> None:
        parsed = make_url(self.admin_url)
        conn = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def create(self, suffix: str) -> str:
        """Create ``<prefix>_<suffix>`` and return its asyncpg URL."""
        name = f"{self.prefix}_{suffix}"
        run_sync(lambda: self._execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        url = make_url(normalize_database_url(self.admin_url)).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database created here, even with connections left open."""
        for name in self.created:
            run_sync(lambda n=name: self._execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)'))  # type: ignore[misc]
        self.created.clear()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    """The per-run database factory, or None when AUTHSVC_TEST_POSTGRES_URL is unset."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        yield None
        return
    factory = PostgresDatabases(admin_url)
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="session")
def _postgres_migrated(postgres_databases: PostgresDatabases | None) -> str | None:
    if postgres_databases is None:
        return None
    url = postgres_databases.create("main")
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "authsvc.db"
    db.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def _require(backend: str, postgres: object) -> None:
    if backend == "postgres" and postgres is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")


async def _truncate(url: str) -> None:
    engine = db.make_engine(DatabaseConfig(url=url))
    try:
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    _postgres_migrated: str | None,
) -> str:
    """A database migrated to head and empty, on SQLite or PostgreSQL."""
    backend: str = request.param
    _require(backend, _postgres_migrated)
    if backend == "sqlite":
        path = tmp_path / "authsvc.db"
        shutil.copyfile(_sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    assert _postgres_migrated is not None
    run_sync(lambda: _truncate(_postgres_migrated))
    return _postgres_migrated


@pytest.fixture(params=BACKENDS)
def empty_db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_databases: PostgresDatabases | None,
) -> str:
    """A database that was never migrated, on SQLite or PostgreSQL."""
    backend: str = request.param
    _require(backend, postgres_databases)
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert postgres_databases is not None
    return postgres_databases.create(secrets.token_hex(3))


@pytest.fixture
async def sessionmaker(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the migrated test database."""
    engine = db.make_engine(DatabaseConfig(url=db_url))
    try:
        yield db.make_sessionmaker(engine)
    finally:
        await engine.dispose()


RunDb = Callable[[Callable[[AsyncSession], Awaitable[Any]]], Any]
Dump = dict[str, list[tuple[Any, ...]]]


def run_on(url: str, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``action(session)`` on the database at ``url`` and commit, from synchronous code."""

    async def main() -> T:
        engine = db.make_engine(DatabaseConfig(url=url))
        try:
            async with db.make_sessionmaker(engine)() as session:
                result = await action(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return run_sync(main)


async def _dump(session: AsyncSession) -> Dump:
    tables = [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]
    out: Dump = {}
    for name in tables:
        rows = await session.execute(select(text("*")).select_from(table(name)))
        out[name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def dump(url: str) -> Dump:
    """Every row of every table (sorted), to compare before and after a failed command."""
    return run_on(url, _dump)


@pytest.fixture
def run_db(db_url: str) -> RunDb:
    """``run_on`` bound to ``db_url``."""
    return lambda action: run_on(db_url, action)


@pytest.fixture
def dump_db(db_url: str) -> Callable[[], Dump]:
    """``dump`` bound to ``db_url``."""
    return lambda: dump(db_url)
