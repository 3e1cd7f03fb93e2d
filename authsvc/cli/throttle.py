"""``authsvc throttle list|clear``: the login blocks now in force, and lifting them."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.cli.common import print_json
from authsvc.cli.dbsession import run_in_session
from authsvc.models import utcnow


def cmd_list(args: argparse.Namespace) -> int:
    """Show the counters that block logins now."""
    now = utcnow()

    async def action(session: AsyncSession) -> list[store.FailureRecord]:
        return await store.list_blocked(session, now)

    records = run_in_session(args, action)
    rows = [
        {
            "key": r.key,
            "failures": r.failures,
            "last_failure_at": r.last_failure_at.isoformat(),
            "blocked_until": r.blocked_until.isoformat() if r.blocked_until else None,
            "seconds_left": round((r.blocked_until - now).total_seconds())
            if r.blocked_until
            else 0,
        }
        for r in records
    ]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no logins are blocked")
    for row in rows:
        print(
            f"{row['key']} failures={row['failures']} blocked for {row['seconds_left']}s "
            f"(until {row['blocked_until']})"
        )
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    """Lift blocks: a user's (at every address), an address's (for every user), or all."""
    user = args.user.casefold() if args.user else None

    async def action(session: AsyncSession) -> int:
        return await store.clear_matching(session, user=user, address=args.address)

    count = run_in_session(args, action)
    print(f"cleared {count} login counter(s); replicas notice within a second")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``throttle`` command group."""
    parser = subparsers.add_parser("throttle", help="show and lift login throttling")
    sub = parser.add_subparsers(dest="throttle_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="the blocks now in force")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    clear = sub.add_parser("clear", help="lift blocks (all of them without options)")
    clear.add_argument("--user", help="this user's counters, at every address")
    clear.add_argument("--address", help="this address's counters, for every user")
    clear.set_defaults(func=cmd_clear)
