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
- ``cli`` runs ``authsvc ARGS`` in process on ``db_url`` (``make_cli(url)`` on any URL), with a
  clean ``AUTHSVC_*`` environment, cheap argon2 parameters, a given stdin and captured output.
  ``fast_hasher`` hashes with the same cheap parameters; ``seeded_db_url`` is ``db_url`` holding
  alice (in group devs, one rule, one refresh token) and bob.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import cli as authsvc_cli
from authsvc import db, store
from authsvc.config import DatabaseConfig, PasswordConfig, normalize_database_url
from authsvc.models import Base
from authsvc.passwords import PasswordHasher

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


RunAt = Callable[[str, Callable[[AsyncSession], Awaitable[Any]]], Any]


@pytest.fixture
def run_at() -> RunAt:
    """``run_on`` itself, for a database other than ``db_url`` (``empty_db_url``, say)."""
    return run_on


@pytest.fixture
def dump_db(db_url: str) -> Callable[[], Dump]:
    """``dump`` bound to ``db_url``."""
    return lambda: dump(db_url)


# Cheap argon2 parameters: the CLI hashes on every user add and passwd.
FAST_ARGON2 = {"AUTHSVC_ARGON2_MEMORY_COST": "1024", "AUTHSVC_ARGON2_TIME_COST": "1"}


# A command that must fail: its arguments, its stdin and a part of the expected message.
Mistake = tuple[tuple[str, ...], str, str]


@dataclass(frozen=True, slots=True)
class CliResult:
    """What one ``authsvc`` command did: its exit status and its output."""

    code: int
    out: str
    err: str


class Cli:
    """``authsvc ARGS`` in process: ``authsvc.cli.main`` with captured stdout and stderr.

    Every AUTHSVC_* variable of the test run is removed, so only ``url`` (as
    AUTHSVC_DATABASE_URL, unless None) and the cheap argon2 parameters apply.
    """

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        url: str | None,
    ) -> None:
        """Prepare the environment for commands on the database at ``url``."""
        self.url = url
        self._monkeypatch = monkeypatch
        self._capsys = capsys
        for name in [k for k in os.environ if k.startswith("AUTHSVC_")]:
            monkeypatch.delenv(name)
        for name, value in FAST_ARGON2.items():
            monkeypatch.setenv(name, value)
        if url is not None:
            monkeypatch.setenv("AUTHSVC_DATABASE_URL", url)

    def __call__(self, *args: str, stdin: str = "") -> CliResult:
        """Run one command; a usage error (argparse's SystemExit) is exit status 2."""
        self._monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self._capsys.readouterr()

        def main() -> int:
            try:
                return authsvc_cli.main(list(args))
            except SystemExit as exc:
                return int(exc.code or 0)

        # The CLI calls asyncio.run; a private thread keeps it away from pytest-asyncio's loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            code = pool.submit(main).result()
        captured = self._capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    def ok(self, *args: str, stdin: str = "") -> str:
        """Run a command that must succeed; return its stdout."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, f"{args}: exit {result.code}: {result.err}"
        return result.out

    def fails(self, cases: Sequence[Mistake]) -> None:
        """Each command exits 1 with one line on stderr naming the mistake, and writes nothing."""
        assert self.url is not None
        before = dump(self.url)
        problems: list[str] = []
        for args, stdin, expected in cases:
            result = self(*args, stdin=stdin)
            lines = result.err.splitlines()
            if result.code != 1 or len(lines) != 1 or result.out:
                problems.append(f"{args}: exit {result.code}, stdout {result.out!r}, {lines}")
            elif not lines[0].startswith("authsvc: error: ") or expected not in lines[0]:
                problems.append(f"{args}: expected {expected!r} in {lines[0]!r}")
        assert problems == []
        assert dump(self.url) == before


MakeCli = Callable[[str | None], Cli]


@pytest.fixture
def make_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> MakeCli:
    """In-process ``authsvc`` on the database at a given URL (None: leave it to --config)."""
    return lambda url: Cli(monkeypatch, capsys, url)


@pytest.fixture
def cli(make_cli: MakeCli, db_url: str) -> Cli:
    """In-process ``authsvc`` on the migrated test database."""
    return make_cli(db_url)


@pytest.fixture
def sqlite_cli(
    make_cli: MakeCli, tmp_path: Path, _sqlite_template: Path, fast_hasher: PasswordHasher
) -> Cli:
    """In-process ``authsvc`` on a seeded SQLite database only (see ``seeded_db_url``), for
    mistakes that are caught before any SQL runs (invalid names, patterns and files)."""
    path = tmp_path / "authsvc.db"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    _seed(url, fast_hasher)
    return make_cli(url)


@pytest.fixture(scope="session")
def fast_hasher() -> PasswordHasher:
    """A hasher with the cheap argon2 parameters that ``cli`` gives the CLI."""
    return PasswordHasher(
        PasswordConfig(
            argon2_memory_cost=int(FAST_ARGON2["AUTHSVC_ARGON2_MEMORY_COST"]),
            argon2_time_cost=int(FAST_ARGON2["AUTHSVC_ARGON2_TIME_COST"]),
        )
    )


def _seed(url: str, hasher: PasswordHasher) -> None:
    async def action(session: AsyncSession) -> None:
        alice = await store.create_user(session, "alice", hasher.hash("alice-pw"))
        await store.create_user(session, "bob", hasher.hash("bob-pw"))
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


@pytest.fixture
def seeded_db_url(db_url: str, fast_hasher: PasswordHasher) -> str:
    """``db_url`` holding alice (password alice-pw, in group devs, rule #1 ``alice
    ${account}/* pull``, one refresh token) and bob (bob-pw)."""
    _seed(db_url, fast_hasher)
    return db_url
