"""Run one CLI action in one database transaction, turning every failure into a CliError.

A command either commits everything it did or nothing, so a mistake halfway through an
``acl import`` or ``user import`` leaves the database as it was: the action runs inside
``store.transaction``, which commits only after the action returns.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import db, store
from authsvc.cli.common import CliError, get_config, run
from authsvc.config import Config
from authsvc.services import AdminServices, build_admin_services

T = TypeVar("T")


def run_with_services(
    args: argparse.Namespace,
    action: Callable[[async_sessionmaker[AsyncSession], Config], Awaitable[T]],
) -> T:
    """Run ``action`` with a session factory, for commands that call a service layer.

    The service owns its transactions (the same code the HTTP API runs); errors become a
    CliError as in ``run_in_session``.
    """
    cfg = get_config(args)

    async def _main() -> T:
        try:
            engine = db.make_engine(cfg.database)
        except db.DatabaseUrlError as exc:
            raise CliError(str(exc)) from None
        try:
            return await action(db.make_sessionmaker(engine), cfg)
        except (store.StoreError, ValueError) as exc:
            raise CliError(str(exc)) from None
        finally:
            await engine.dispose()

    return run(_main)


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
        except db.DatabaseUrlError as exc:
            raise CliError(str(exc)) from None
        try:
            async with store.transaction(db.make_sessionmaker(engine)) as session:
                return await action(session)
        except (store.StoreError, ValueError) as exc:
            # Conflicts, unknown names, invalid names and rules (ValueError), and a database that
            # is down or refuses the statement: every message is one line for an administrator.
            raise CliError(str(exc)) from None
        finally:
            await engine.dispose()

    return run(_main)


def run_admin(args: argparse.Namespace, action: Callable[[AdminServices], Awaitable[T]]) -> T:
    """Run ``action`` with the admin services (the ones the admin API calls) on the database."""

    async def main(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> T:
        return await action(build_admin_services(config, sessionmaker))

    return run_with_services(args, main)
