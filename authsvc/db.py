"""Database plumbing: the async engine, the session factory and running alembic migrations.

Failures leave this module as authsvc's own errors: ``DatabaseUrlError`` (a ``ConfigError``) for a
URL that cannot become an engine, and the store's ``StoreUnavailable``/``QueryFailed`` for a
database that cannot be used, so that callers never import ``sqlalchemy.exc``.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from authsvc.config import ConfigError, DatabaseConfig, normalize_database_url
from authsvc.store import as_store_error

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The repository root holds pyproject.toml (alembic settings); resolve it from the package, not the
# working directory, so the CLI works from anywhere (also when installed editable).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Inside the package, so a wheel carries them and `authsvc db upgrade` works from anywhere.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


T = TypeVar("T")


class MigrationsNotFound(RuntimeError):
    """The installed package lacks its alembic migrations (a broken install)."""


class DatabaseUrlError(ConfigError):
    """``database.url`` cannot become an engine: it does not parse or its driver is missing."""


@contextmanager
def _database_errors() -> Iterator[None]:
    """Raise authsvc's errors instead of SQLAlchemy's (and the drivers') inside the block."""
    try:
        yield
    except (sa_exc.ArgumentError, ImportError) as exc:
        # ArgumentError: the URL does not parse or names an unknown dialect; ImportError: the
        # dialect's DBAPI (asyncpg, aiosqlite, ...) is not installed.
        raise DatabaseUrlError(f"database.url is not usable: {exc}") from exc
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        error = as_store_error(exc)
        if error is None:
            raise
        raise error from exc


def migrations_dir() -> Path:
    """The alembic script directory, shipped inside the package."""
    if (MIGRATIONS_DIR / "env.py").is_file():
        return MIGRATIONS_DIR
    raise MigrationsNotFound(f"the alembic migrations are missing from {MIGRATIONS_DIR}")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``, or None when nothing is there."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DatabaseFileWatch:
    """Notices a SQLite file moved away or replaced under a running server.

    Pooled connections keep reading the file they opened, while new ones would open (or
    create, empty) whatever is at the path now, so the two disagree silently.
    """

    def __init__(self, path: Path | None) -> None:
        """Watch ``path`` (None: not a SQLite file, nothing to watch)."""
        self.path = path
        self._seen = file_identity(path) if path is not None else None

    def changed(self) -> bool:
        """Whether the file is gone or another file took its place since it was first seen."""
        if self.path is None:
            return False
        now = file_identity(self.path)
        if self._seen is None:
            self._seen = now  # created after start-up (a fresh database): watch it from here
            return False
        return now != self._seen


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite database file; a fresh checkout has no data/ yet.

    Raises ``DatabaseUrlError`` naming the directory when it cannot be created.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return
    directory = Path(parsed.database).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUrlError(
            f"database.url is not usable: cannot create the directory {directory}: "
            f"{exc.strerror or exc}"
        ) from None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite leaves foreign keys off unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # A concurrent writer (the CLI while the server runs) waits instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=5000")
    # WAL lets readers (token requests) proceed during a write. NORMAL sync is durable enough
    # with WAL (a power loss may drop the last commits but never corrupts the database; see
    # sqlite.org/pragma.html#pragma_synchronous) and keeps the record_login commit of every
    # password login from waiting for an fsync.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A PostgreSQL server that does not answer (a dead host, a dropped route) must turn into a 503
# within seconds; asyncpg would otherwise wait 60 s per connection attempt.
PG_CONNECT_TIMEOUT = 5.0
# How long a request waits for a pooled connection when all are busy before it gets a 503.
POOL_TIMEOUT = 10.0


def make_engine(cfg: DatabaseConfig) -> AsyncEngine:
    """Create the async engine for ``cfg.url`` (plain sqlite/postgresql URLs are mapped).

    Raises ``DatabaseUrlError`` when the URL does not parse or its driver is not installed.
    """
    url = normalize_database_url(cfg.url)
    # Statement parameters hold password hashes and refresh-token hashes: neither the echo log
    # nor the text of an exception may show them.
    kwargs: dict[str, Any] = {"echo": cfg.echo, "hide_parameters": True}
    with _database_errors():
        ensure_sqlite_directory(url)
        if make_url(url).get_backend_name() == "postgresql":
            kwargs["pool_size"] = cfg.pool_size
            kwargs["pool_timeout"] = POOL_TIMEOUT
            kwargs["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT}
        engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (store returns plain records anyway)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> AlembicConfig:
    """The alembic configuration of this project; ``url`` overrides the configured database.

    Settings come from ``[tool.alembic]`` in pyproject.toml when the source tree has one; an
    installed copy has none and uses the package's own migrations directory.
    """
    from alembic.config import Config as AlembicConfig

    pyproject = PROJECT_ROOT / "pyproject.toml"
    cfg = AlembicConfig(toml_file=pyproject) if pyproject.is_file() else AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        # migrations/env.py reads this attribute before falling back to load_config().
        cfg.attributes["url"] = normalize_database_url(url)
    return cfg


def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    # migrations/env.py runs the async engine with asyncio.run(); a private thread has no event
    # loop, so this works from synchronous code and from inside a running loop alike.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="alembic") as pool:
        return pool.submit(fn, *args).result()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (blocks; run from sync code).

    Raises ``DatabaseUrlError``, ``StoreUnavailable`` or ``QueryFailed`` when it cannot.
    """
    from alembic import command

    config = alembic_config(url)
    with _database_errors():
        _in_thread(command.upgrade, config, revision)


def head_revision() -> str | None:
    """The newest revision in migrations/."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated); StoreUnavailable if unreachable."""
    from alembic.runtime.migration import MigrationContext

    with _database_errors():
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
            )
