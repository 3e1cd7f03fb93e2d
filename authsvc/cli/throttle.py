"""``authsvc throttle list|clear``: the failed-login counts behind 429 answers, and lifting them."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.authn.throttle import ADDRESS_ONLY, throttle_name
from authsvc.cli.common import print_json
from authsvc.cli.dbsession import run_in_session
from authsvc.models import utcnow


def failure_to_dict(row: store.FailureRecord, now: dt.datetime) -> dict[str, object]:
    """JSON-ready data for one counted key; ``user`` is null for a per-address count."""
    blocked = row.blocked_until is not None and row.blocked_until > now
    return {
        "user": row.username or None,
        "address": row.address,
        "failures": row.failures,
        "last_failure_at": row.last_failure_at.isoformat(),
        "blocked_until": row.blocked_until.isoformat() if blocked and row.blocked_until else None,
    }


def cmd_list(args: argparse.Namespace) -> int:
    """Show the blocked keys (with ``--all``, every key with failures)."""
    now = utcnow()

    async def action(session: AsyncSession) -> list[store.FailureRecord]:
        return await store.list_login_failures(session, blocked_at=None if args.all else now)

    rows = run_in_session(args, action)
    if args.json:
        print_json([failure_to_dict(r, now) for r in rows])
        return 0
    for r in rows:
        who = f"user {r.username} from {r.address}" if r.username else f"address {r.address}"
        until = r.blocked_until
        state = (
            f"blocked until {until.isoformat(timespec='seconds')}"
            if until is not None and until > now
            else "not blocked"
        )
        print(f"{who}: {r.failures} failure(s), {state}")
    if not rows:
        print("no blocks" if not args.all else "no failed logins counted")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    """Lift blocks: of a user (every address), of an address (every user), both, or all."""
    user = throttle_name(args.user) if args.user is not None else None
    address = args.address

    async def action(session: AsyncSession) -> int:
        count = await store.clear_login_failures(session, username=user, address=address)
        if address is not None and user is None:
            return count
        if user is not None and address is not None:
            # The address's own count also blocked this user there; clearing the pair lifts it.
            count += await store.clear_login_failures(
                session, username=ADDRESS_ONLY, address=address
            )
        return count

    count = run_in_session(args, action)
    print(f"cleared {count} failure count(s)")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``throttle`` command group."""
    parser = subparsers.add_parser("throttle", help="show and lift login throttling")
    sub = parser.add_subparsers(dest="throttle_command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="show the current blocks")
    listing.add_argument("--all", action="store_true", help="every key with failures counted")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    clear = sub.add_parser("clear", help="lift blocks (all of them without options)")
    clear.add_argument("--user", help="this user's blocks, from every address")
    clear.add_argument("--address", help="this address's blocks, for every user")
    clear.set_defaults(func=cmd_clear)
