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
from authsvc.cli.common import (
    CliError,
    get_config,
    parse_token_ttl,
    print_json,
    read_password_stdin,
)
from authsvc.cli.dbsession import run_in_session
from authsvc.names import normalize_username
from authsvc.passwords import PasswordHasher, check_new_password, generate_password, is_bcrypt_hash

TOKEN_TTL_HELP = "access-token lifetime overriding AUTHSVC_TOKEN_TTL (e.g. 900, 15m; >= 60 s)"


def user_to_dict(user: store.UserRecord) -> dict[str, object]:
    """JSON-ready data for a user; the password hash is left out."""
    return {
        "id": user.id,
        "name": user.name,
        "admin": user.admin,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "source": user.source,
        "token_ttl": user.token_ttl,
    }


def _name(value: str) -> str:
    try:
        return normalize_username(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _new_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin, or a generated one; the flag says whether it was generated."""
    if args.password_stdin:
        password = read_password_stdin()
        try:
            check_new_password(password)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        return password, False
    return generate_password(), True


def _revoked(count: int) -> str:
    return f"; revoked {count} refresh token(s)" if count else ""


def cmd_add(args: argparse.Namespace) -> int:
    """Create a user with a password from stdin or a generated one, printed once."""
    config = get_config(args)
    name = _name(args.name)
    token_ttl = parse_token_ttl(args.token_ttl) if args.token_ttl else None
    password, generated = _new_password(args)
    password_hash = PasswordHasher(config.passwords).hash(password)

    async def action(session: AsyncSession) -> store.UserRecord:
        return await store.create_user(
            session, name, password_hash, admin=args.admin, token_ttl=token_ttl
        )

    user = run_in_session(args, action, config=config)
    print(f"created user {user.name!r}" + (" (admin)" if user.admin else ""))
    if generated:
        print(f"password (shown only once): {password}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List users."""
    users = run_in_session(args, store.list_users)
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
    print(run_in_session(args, store.count_users))
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    """Set a user's password (from stdin, or a generated one printed once)."""
    config = get_config(args)
    name = _name(args.name)
    password, generated = _new_password(args)
    password_hash = PasswordHasher(config.passwords).hash(password)

    async def action(session: AsyncSession) -> int:
        return await store.set_password_hash(session, name, password_hash)

    revoked = run_in_session(args, action, config=config)
    print(f"changed the password of {name!r}{_revoked(revoked)}")
    if generated:
        print(f"password (shown only once): {password}")
    return 0


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        name = _name(args.name)

        async def action(session: AsyncSession) -> int:
            return await store.set_disabled(session, name, disabled)

        revoked = run_in_session(args, action)
        print(f"{'disabled' if disabled else 'enabled'} user {name!r}{_revoked(revoked)}")
        return 0

    command.__doc__ = f"{'Disable' if disabled else 'Enable'} a user."
    return command


def cmd_token_ttl(args: argparse.Namespace) -> int:
    """Set a user's access-token lifetime, or return it to the server's (``default``)."""
    name = _name(args.name)
    token_ttl = parse_token_ttl(args.ttl, "TTL")

    async def action(session: AsyncSession) -> None:
        await store.set_token_ttl(session, name, token_ttl)

    run_in_session(args, action)
    shown = "the server's default" if token_ttl is None else f"{token_ttl} seconds"
    print(f"access tokens of {name!r} now live {shown}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a user, their group memberships and their refresh tokens."""
    name = _name(args.name)

    async def action(session: AsyncSession) -> None:
        await store.delete_user(session, name)

    run_in_session(args, action)
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
