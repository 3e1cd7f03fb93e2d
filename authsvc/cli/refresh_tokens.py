"""``authsvc token list|revoke``: refresh tokens (docker identity tokens), never shown in clear.

The command keeps the short name ``token``; access tokens are never stored, so there is nothing
else it could list.
"""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.cli.common import CliError, print_json
from authsvc.cli.dbsession import run_in_session
from authsvc.models import utcnow
from authsvc.names import normalize_username


def _status(token: store.RefreshTokenRecord, now: dt.datetime) -> str:
    if token.revoked:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def token_to_dict(token: store.RefreshTokenRecord, now: dt.datetime) -> dict[str, object]:
    """JSON-ready data for a refresh token; the hash is left out."""
    return {
        "id": token.id,
        "user": token.subject,
        "service": token.service,
        "client_id": token.client_id,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "expires_at": token.expires_at.isoformat(),
        "revoked": token.revoked,
        "status": _status(token, now),
    }


def _user(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_username(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cmd_list(args: argparse.Namespace) -> int:
    """List refresh tokens, optionally of one user."""
    user = _user(args.user)

    async def action(session: AsyncSession) -> list[store.RefreshTokenRecord]:
        return await store.list_refresh_tokens(session, user)

    tokens = run_in_session(args, action)
    now = utcnow()
    if args.json:
        print_json([token_to_dict(t, now) for t in tokens])
        return 0
    for t in tokens:
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        print(
            f"#{t.id} {t.subject} service={t.service} client_id={t.client_id} "
            f"created={t.created_at.isoformat(timespec='seconds')} last_used={used} "
            f"expires={t.expires_at.isoformat(timespec='seconds')} {_status(t, now)}"
        )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke one token by id, or every token of a user."""
    user = _user(args.user)

    async def action(session: AsyncSession) -> str:
        if user is not None:
            count = await store.revoke_user_refresh_tokens(session, user)
            return f"revoked {count} refresh token(s) of {user!r}"
        token = await store.revoke_refresh_token(session, args.id)
        return f"revoked refresh token #{token.id} of {token.subject!r}"

    print(run_in_session(args, action))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``token`` command group."""
    parser = subparsers.add_parser("token", help="manage refresh tokens")
    sub = parser.add_subparsers(dest="token_command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="list refresh tokens")
    listing.add_argument("--user", help="only this user's tokens")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    revoke = sub.add_parser("revoke", help="revoke a token by id, or all of a user's")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("id", type=int, nargs="?", help="the token id (see token list)")
    which.add_argument("--user", help="revoke every token of this user")
    revoke.set_defaults(func=cmd_revoke)
