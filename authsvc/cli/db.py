"""``authsvc db upgrade|current``: the schema changes only through alembic's migrations/."""

from __future__ import annotations

import argparse

from authsvc import db, store
from authsvc.cli.common import CliError, get_config, run
from authsvc.config import DatabaseConfig


def _revision_line(current: str | None, head: str | None) -> str:
    if current is None:
        return "none (the database is not migrated; run 'authsvc db upgrade')"
    if current == head:
        return f"{current} (head)"
    return f"{current} (head is {head}; run 'authsvc db upgrade')"


def _current(cfg: DatabaseConfig) -> str | None:
    async def _main() -> str | None:
        engine = db.make_engine(cfg)
        try:
            return await db.current_revision(engine)
        finally:
            await engine.dispose()

    return run(_main)


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Migrate the configured database to the newest revision."""
    config = get_config(args)
    try:
        db.upgrade(config.database.url, "head")
        current = _current(config.database)
        head = db.head_revision()
    except (db.MigrationsNotFound, db.DatabaseUrlError, store.StoreError) as exc:
        raise CliError(str(exc)) from None
    print(f"database at revision {_revision_line(current, head)}")
    return 0


def cmd_current(args: argparse.Namespace) -> int:
    """Print the revision the configured database is at."""
    config = get_config(args)
    try:
        current = _current(config.database)
        head = db.head_revision()
    except (db.MigrationsNotFound, db.DatabaseUrlError, store.StoreError) as exc:
        raise CliError(str(exc)) from None
    print(_revision_line(current, head))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``db`` command group."""
    parser = subparsers.add_parser("db", help="database migrations")
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    sub.add_parser("upgrade", help="migrate to the newest revision").set_defaults(func=cmd_upgrade)
    sub.add_parser("current", help="print the current revision").set_defaults(func=cmd_current)
