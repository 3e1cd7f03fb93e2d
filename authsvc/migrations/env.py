"""Alembic environment for authsvc: async engines, target metadata from authsvc.models.

The database URL is, in order: the ``url`` attribute of the alembic Config (set by
``authsvc.db.alembic_config(url)``, used by ``authsvc db upgrade`` and the tests), the
``sqlalchemy.url`` main option (plain ``alembic`` command-line use with an explicit URL), and
finally ``authsvc.config.load_config()`` (the ``AUTHSVC_*`` environment and ``AUTHSVC_CONFIG``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from authsvc.config import load_config, normalize_database_url
from authsvc.db import ensure_sqlite_directory
from authsvc.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """Pick the URL to migrate (see the module docstring for the order)."""
    url = config.attributes.get("url")
    # With pyproject.toml alone (`alembic -c pyproject.toml ...`) there is no ini section, and
    # get_main_option would raise instead of returning None.
    if not url and config.file_config.has_section(config.config_ini_section):
        url = config.get_main_option("sqlalchemy.url")
    if not url:
        url = load_config().database.url
    return normalize_database_url(str(url))


def configure(**kwargs: Any) -> None:
    """Configure the migration context the same way online and offline."""
    context.configure(target_metadata=target_metadata, compare_type=True, **kwargs)


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on a synchronous connection (inside ``run_sync``)."""
    # SQLite cannot ALTER most things in place; batch mode recreates the table instead.
    configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an async engine without pooling and migrate through one connection."""
    url = database_url()
    ensure_sqlite_directory(url)
    # hide_parameters: as in authsvc.db.make_engine, no statement parameters in logs or errors.
    engine = create_async_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    # authsvc.db runs alembic commands in a worker thread, so no event loop is running here.
    asyncio.run(run_async_migrations())
