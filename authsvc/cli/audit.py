"""``authsvc audit list|purge``: read the audit trail, and apply the retention period now.

Also ``record_admin_change``, which ``authsvc.cli.main`` calls after every command that changed
something, so that each change made through the CLI leaves one ``admin`` row.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import sys

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.audit import CLI_CLIENT, admin_record, describe_change, write_now
from authsvc.authn.throttle import throttle_name
from authsvc.cli.common import CliError, get_config, print_json
from authsvc.cli.dbsession import run_in_session, run_with_services
from authsvc.config import Config
from authsvc.handlers.audit_trail import EVENTS
from authsvc.models import utcnow
from svckit.settings import SettingError, parse_duration

# The commands that change something, by group; each leaves an ``admin`` row when it succeeds.
CHANGES = {
    "user": {"add", "passwd", "disable", "enable", "delete", "import", "token-ttl"},
    "group": {"add", "delete", "member"},
    "acl": {"add", "delete", "import"},
    "token": {"revoke"},
    "pat": {"create", "revoke"},
    "robot": {"add", "disable", "enable", "delete", "secret", "token-ttl"},
    "trust": {"add", "delete"},
    "throttle": {"clear"},
}
# Arguments never copied into the row: options of the command line itself, not of the change.
_NOT_RECORDED = {"func", "config", "command", "json", "password_stdin"}


def change_of(args: argparse.Namespace) -> str | None:
    """``"user add name=alice"`` for a changing command, None for a read-only one."""
    group = getattr(args, "command", None)
    verb = getattr(args, f"{group}_command", None)
    if group not in CHANGES or verb not in CHANGES[group]:
        return None
    # Passwords are read from standard input, never from arguments, so none is here.
    details = {
        k: v for k, v in vars(args).items() if k not in _NOT_RECORDED and not k.endswith("_command")
    }
    subverb = getattr(args, "member_command", None) or getattr(args, "secret_command", None)
    return describe_change([group, verb, *([subverb] if subverb else [])], details)


def record_admin_change(args: argparse.Namespace) -> None:
    """Write the ``admin`` row of a successful changing command (nothing for the others)."""
    change = change_of(args)
    if change is None:
        return
    config = get_config(args)
    if not config.audit.enabled:
        return
    try:
        operator = getpass.getuser()
    except (KeyError, OSError):
        operator = ""
    record = admin_record(operator, CLI_CLIENT, change)

    async def action(sessionmaker: object, _config: Config) -> None:
        await write_now(sessionmaker, record)  # type: ignore[arg-type]

    try:
        run_with_services(args, action)
    except CliError as exc:
        # The change itself is committed; failing the command now would invite a retry.
        print(f"authsvc: warning: the change was made but not audited: {exc}", file=sys.stderr)


def parse_since(value: str) -> dt.datetime:
    """``--since 1h``: that long ago, as an aware UTC datetime."""
    try:
        seconds = parse_duration(value, "--since")
    except SettingError as exc:
        raise CliError(str(exc)) from None
    return utcnow() - dt.timedelta(seconds=seconds)


def record_to_dict(record: store.AuditRecord) -> dict[str, object]:
    """JSON-ready data for one row."""
    data = dataclasses.asdict(record)
    data["at"] = record.at.isoformat()
    return data


def _line(r: store.AuditRecord) -> str:
    parts = [r.at.isoformat(timespec="seconds"), r.event, r.subject or "-"]
    for name in ("address", "service", "client_id", "jti", "requested", "granted", "rule"):
        value = getattr(r, name)
        if value:
            parts.append(f"{name}={value!r}" if " " in value else f"{name}={value}")
    if r.detail:
        parts.append(f"detail={r.detail!r}")
    return " ".join(parts)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the rows that match, oldest first."""
    since = parse_since(args.since) if args.since else None
    # As throttling counts it: normalised, or as given for names no user could have.
    subject = throttle_name(args.user) if args.user is not None else None

    async def action(session: AsyncSession) -> list[store.AuditRecord]:
        return await store.list_audit_events(
            session, since=since, subject=subject, event=args.event, limit=args.limit
        )

    rows = run_in_session(args, action)
    if args.json:
        print_json([record_to_dict(r) for r in rows])
    else:
        for r in rows:
            print(_line(r))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete the rows older than AUTHSVC_AUDIT_RETENTION now (the server does so hourly)."""
    config = get_config(args)
    before = utcnow() - dt.timedelta(seconds=config.audit.retention)

    async def action(session: AsyncSession) -> int:
        return await store.purge_audit_events(session, before)

    print(f"purged {run_in_session(args, action, config=config)} audit row(s)")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``audit`` command group."""
    parser = subparsers.add_parser("audit", help="read the audit trail")
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="list audit rows, oldest first")
    listing.add_argument("--since", metavar="DURATION", help="only rows newer than this (1h, 7d)")
    listing.add_argument("--user", help="only rows about this user (or attempted user name)")
    listing.add_argument("--event", choices=EVENTS, help="only rows of this kind")
    listing.add_argument("--limit", type=int, default=1000, help="the newest N rows (1000)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    sub.add_parser("purge", help="delete rows past the retention period now").set_defaults(
        func=cmd_purge
    )
