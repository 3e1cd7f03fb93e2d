"""``authsvc pat create|list|revoke``: personal access tokens, through the one service layer.

The secret is printed once, by ``create``, on a line of its own; nothing can show it again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.cli.common import CliError, print_json
from authsvc.cli.dbsession import run_with_services
from authsvc.config import Config
from authsvc.models import utcnow
from authsvc.pat_service import PatService, parse_lifetime, pat_status, pat_to_dict
from authsvc.services import build_pat_service


def parse_expiry(value: str | None) -> dt.timedelta | None:
    """``30d``, ``12h``, ``never`` or nothing (never)."""
    try:
        return parse_lifetime(value, "--expires")
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _service(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> PatService:
    return build_pat_service(config, sessionmaker)


def cmd_create(args: argparse.Namespace) -> int:
    """Create a token and print its secret once."""
    expires = parse_expiry(args.expires)

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> tuple[store.PatRecord, str]:
        return await _service(sessionmaker, config).create(
            args.user, name=args.name, scopes=args.scope, expires_in=expires
        )

    record, secret = run_with_services(args, action)
    if args.json:
        print_json({**pat_to_dict(record, utcnow()), "secret": secret})
        return 0
    print(
        f"created personal access token #{record.id} {record.name!r} for {record.owner!r} "
        f"(scopes: {record.scopes}); the secret below is shown only once:",
        file=sys.stderr,
    )
    print(secret)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List tokens, optionally of one user."""

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> list[store.PatRecord]:
        return await _service(sessionmaker, config).list(args.user)

    records = run_with_services(args, action)
    now = utcnow()
    if args.json:
        print_json([pat_to_dict(r, now) for r in records])
        return 0
    for r in records:
        expires = r.expires_at.isoformat(timespec="seconds") if r.expires_at else "never"
        used = r.last_used_at.isoformat(timespec="seconds") if r.last_used_at else "never"
        print(
            f"#{r.id} {r.owner} {r.name!r} scopes={r.scopes} "
            f"created={r.created_at.isoformat(timespec='seconds')} expires={expires} "
            f"last_used={used} {pat_status(r, now)}"
        )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke a token by id."""

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> store.PatRecord:
        return await _service(sessionmaker, config).revoke(args.id)

    record = run_with_services(args, action)
    print(f"revoked personal access token #{record.id} {record.name!r} of {record.owner!r}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pat`` command group."""
    parser = subparsers.add_parser("pat", help="manage personal access tokens")
    sub = parser.add_subparsers(dest="pat_command", required=True, metavar="COMMAND")

    create = sub.add_parser("create", help="create a token and print its secret once")
    create.add_argument("user", help="the owner")
    create.add_argument("--name", required=True, help="a label, such as ci or laptop")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help="what it may be used for at most, e.g. 'repository:team/*:pull,push' (repeatable)",
    )
    create.add_argument("--expires", help="lifetime such as 30d or 12h (default: never)")
    create.add_argument("--json", action="store_true", help="machine-readable output")
    create.set_defaults(func=cmd_create)

    listing = sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--user", help="only this user's tokens")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    revoke = sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int, help="the token id (see pat list)")
    revoke.set_defaults(func=cmd_revoke)
