"""``authsvc user ...``: add, list, count, passwd, disable, enable, delete and htpasswd import.

``user count`` prints the number of users and is the cheap way for scripts to ask whether any
exist; ``user list --json`` prints them all.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.cli.common import CliError, parse_token_ttl, print_json, read_password_stdin
from authsvc.cli.dbsession import run_admin, run_in_session
from authsvc.names import normalize_username
from authsvc.passwords import is_bcrypt_hash
from authsvc.services import AdminServices
from authsvc.user_service import user_to_dict

TOKEN_TTL_HELP = "access-token lifetime overriding AUTHSVC_TOKEN_TTL (e.g. 900, 15m; >= 60 s)"


def _name(value: str) -> str:
    try:
        return normalize_username(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _password(args: argparse.Namespace) -> str | None:
    """The password from stdin, or None: the service generates one (printed once)."""
    return read_password_stdin() if args.password_stdin else None


def _revoked(count: int) -> str:
    return f"; revoked {count} refresh token(s)" if count else ""


def _print_generated(generated: str | None) -> None:
    if generated is not None:
        print(f"password (shown only once): {generated}")


def cmd_add(args: argparse.Namespace) -> int:
    """Create a user with a password from stdin or a generated one, printed once."""
    name, password = _name(args.name), _password(args)
    token_ttl = parse_token_ttl(args.token_ttl) if args.token_ttl else None

    async def action(admin: AdminServices) -> tuple[store.UserRecord, str | None]:
        return await admin.users.add(name, password, admin=args.admin, token_ttl=token_ttl)

    user, generated = run_admin(args, action)
    print(f"created user {user.name!r}" + (" (admin)" if user.admin else ""))
    _print_generated(generated)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List users."""

    async def action(admin: AdminServices) -> list[store.UserRecord]:
        return await admin.users.list()

    users = run_admin(args, action)
    if args.json:
        print_json([user_to_dict(u) for u in users])
        return 0
    for user in users:
        flags = [f for f, on in (("admin", user.admin), ("disabled", user.disabled)) if on]
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        if user.source != "local":
            flags.append(user.source)
        if user.token_ttl is not None:
            flags.append(f"token ttl {user.token_ttl}s")
        suffix = f" [{', '.join(flags)}]" if flags else ""
        print(f"{user.name}{suffix} (last login: {last})")
    return 0


def cmd_count(args: argparse.Namespace) -> int:
    """Print the number of users."""

    async def action(admin: AdminServices) -> int:
        return await admin.users.count()

    print(run_admin(args, action))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Set a user's password (from stdin, or a generated one printed once)."""
    name, password = _name(args.name), _password(args)

    async def action(admin: AdminServices) -> tuple[int, str | None]:
        return await admin.users.set_password(name, password)

    revoked, generated = run_admin(args, action)
    print(f"changed the password of {name!r}{_revoked(revoked)}")
    _print_generated(generated)
    return 0


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        name = _name(args.name)

        async def action(admin: AdminServices) -> int:
            return await admin.users.set_disabled(name, disabled)

        revoked = run_admin(args, action)
        print(f"{'disabled' if disabled else 'enabled'} user {name!r}{_revoked(revoked)}")
        return 0

    command.__doc__ = f"{'Disable' if disabled else 'Enable'} a user."
    return command


def cmd_token_ttl(args: argparse.Namespace) -> int:
    """Set a user's access-token lifetime, or return it to the server's (``default``)."""
    name = _name(args.name)
    token_ttl = parse_token_ttl(args.ttl, "TTL")

    async def action(admin: AdminServices) -> None:
        await admin.users.set_token_ttl(name, token_ttl)

    run_admin(args, action)
    shown = "the server's default" if token_ttl is None else f"{token_ttl} seconds"
    print(f"access tokens of {name!r} now live {shown}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a user, their group memberships and their refresh tokens."""
    name = _name(args.name)

    async def action(admin: AdminServices) -> None:
        await admin.users.delete(name)

    run_admin(args, action)
    print(f"deleted user {name!r}")
    return 0


def parse_htpasswd(path: Path) -> list[tuple[str, str]]:
    """Read ``name:bcrypt-hash`` lines; CliError naming the line for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise CliError(f"{path}: {reason}") from None
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{lineno}"
        raw_name, sep, password_hash = line.partition(":")
        if not sep:
            raise CliError(f"{where}: expected name:hash")
        try:
            name = normalize_username(raw_name)
        except ValueError as exc:
            raise CliError(f"{where}: {exc}") from None
        if not is_bcrypt_hash(password_hash):
            # Apache's MD5 ($apr1$), SHA1 ({SHA}) and crypt() hashes are too weak to keep.
            raise CliError(f"{where}: user {name!r}: only bcrypt hashes ($2y$, htpasswd -B) work")
        if name in seen:
            raise CliError(f"{where}: user {name!r} appears twice")
        seen.add(name)
        entries.append((name, password_hash))
    return entries


def cmd_import(args: argparse.Namespace) -> int:
    """Create users from an htpasswd file of bcrypt hashes (all or nothing)."""
    entries = parse_htpasswd(Path(args.htpasswd))

    async def action(session: AsyncSession) -> None:
        for name, password_hash in entries:
            await store.create_user(session, name, password_hash)

    run_in_session(args, action)
    print(f"imported {len(entries)} user(s) from {args.htpasswd}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``user`` command group."""
    parser = subparsers.add_parser("user", help="manage users")
    sub = parser.add_subparsers(dest="user_command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (one line)"
    )
    add.add_argument("--admin", action="store_true", help="mark the user as an administrator")
    add.add_argument("--token-ttl", metavar="TTL", help=TOKEN_TTL_HELP)
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="list users")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    sub.add_parser("count", help="print the number of users").set_defaults(func=cmd_count)

    passwd = sub.add_parser("passwd", help="change a password (revokes refresh tokens)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    passwd.set_defaults(func=cmd_passwd)

    for verb, disabled in (("disable", True), ("enable", False)):
        cmd = sub.add_parser(verb, help=f"{verb} a user")
        cmd.add_argument("name")
        cmd.set_defaults(func=_set_disabled(disabled))

    ttl = sub.add_parser("token-ttl", help="set the user's access-token lifetime")
    ttl.add_argument("name")
    ttl.add_argument("ttl", metavar="TTL", help=TOKEN_TTL_HELP + "; default: the server's")
    ttl.set_defaults(func=cmd_token_ttl)

    remove = sub.add_parser("delete", help="delete a user")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_delete)

    imp = sub.add_parser("import", help="import users from an htpasswd file (bcrypt only)")
    imp.add_argument("--htpasswd", required=True, metavar="FILE")
    imp.set_defaults(func=cmd_import)
