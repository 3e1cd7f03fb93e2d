"""Run one CLI action in one database transaction, turning every failure into a CliError.

A command either commits everything it did or nothing (issue 2 §6: a mistake leaves the database
unchanged): the action runs in one session, which is committed only after the action returns.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import db
from authsvc.cli.common import CliError, get_config, run
from authsvc.config import Config
from authsvc.store import StoreError

T = TypeVar("T")

_NOT_MIGRATED = ("no such table", "does not exist")


def describe_db_error(exc: BaseException) -> str:
    """One line saying what went wrong with the database, without the URL or its password."""
    if isinstance(exc, DBAPIError):
        # The first line only: SQLAlchemy appends the statement and its parameters.
        text = str(exc.orig if exc.orig is not None else exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        if any(marker in detail for marker in _NOT_MIGRATED) and "database" not in detail:
            return f"database error: {detail} (is it migrated? run 'authsvc db upgrade')"
        return f"database error: {detail}"
    if isinstance(exc, OSError):
        return f"cannot connect to the database: {exc.strerror or exc}"
    if isinstance(exc, ArgumentError | ImportError):
        return f"database.url is not usable: {exc}"
    return f"database error: {exc}"


def run_in_session(
    args: argparse.Namespace,
    action: Callable[[AsyncSession], Awaitable[T]],
    *,
    config: Config | None = None,
) -> T:
    """Run ``action`` in a session on the configured database and commit if it succeeds."""
    cfg = config or get_config(args)

    async def _main() -> T:
        try:
            engine = db.make_engine(cfg.database)
        except (ArgumentError, ImportError) as exc:
            raise CliError(describe_db_error(exc)) from None
        try:
            async with db.make_sessionmaker(engine)() as session:
                result = await action(session)
                await session.commit()
                return result
        except (StoreError, ValueError) as exc:
            # Store conflicts, unknown names, invalid names and invalid rules: user mistakes.
            raise CliError(str(exc)) from None
        except (DBAPIError, OSError) as exc:
            raise CliError(describe_db_error(exc)) from None
        finally:
            await engine.dispose()

    return run(_main)
