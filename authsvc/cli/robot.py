"""``authsvc robot add|list|disable|enable|delete`` and ``robot secret rotate``.

Secrets are printed once, by ``add`` and ``secret rotate``, on a line of their own.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.cli.common import CliError, parse_token_ttl, print_json
from authsvc.cli.dbsession import run_with_services
from authsvc.cli.pat import parse_expiry
from authsvc.config import Config
from authsvc.models import utcnow
from authsvc.robot_service import RobotRecord, RobotService, parse_overlap, robot_to_dict
from authsvc.services import build_pat_service


def _service(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> RobotService:
    return RobotService(sessionmaker, build_pat_service(config, sessionmaker))


def _print_secret(robot: RobotRecord, secret: str, what: str, as_json: bool) -> None:
    if as_json:
        print_json({**robot_to_dict(robot, utcnow()), "secret": secret})
        return
    print(f"{what} {robot.user.name!r}; the secret below is shown only once:", file=sys.stderr)
    print(secret)


def cmd_add(args: argparse.Namespace) -> int:
    """Create a robot and print its secret."""
    expires = parse_expiry(args.expires)
    token_ttl = parse_token_ttl(args.token_ttl) if args.token_ttl else None

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> tuple[RobotRecord, str]:
        return await _service(sessionmaker, config).add(
            args.name,
            scopes=args.scope,
            expires_in=expires,
            description=args.description,
            token_ttl=token_ttl,
        )

    robot, secret = run_with_services(args, action)
    _print_secret(robot, secret, "created robot", args.json)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List robots."""

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> list[RobotRecord]:
        return await _service(sessionmaker, config).list()

    robots = run_with_services(args, action)
    now = utcnow()
    rows = [robot_to_dict(r, now) for r in robots]
    if args.json:
        print_json(rows)
        return 0
    for robot in rows:
        state = "disabled" if robot["disabled"] else "enabled"
        secrets = robot["secrets"]
        assert isinstance(secrets, list)
        active = [s for s in secrets if s["status"] == "active"]
        scopes = " ".join(active[-1]["scopes"]) if active else "-"
        expires = (active[-1]["expires_at"] or "never") if active else "-"
        ttl = robot["token_ttl"]
        print(
            f"{robot['name']} {state} active_secrets={len(active)} scopes={scopes} "
            f"expires={expires}" + (f" token_ttl={ttl}s" if ttl is not None else "")
        )
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> None:
        await _service(sessionmaker, config).set_disabled(args.name, disabled)

    run_with_services(args, action)
    print(f"{'disabled' if disabled else 'enabled'} robot {args.name!r}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable a robot."""
    return _set_disabled(args, True)


def cmd_enable(args: argparse.Namespace) -> int:
    """Enable a robot."""
    return _set_disabled(args, False)


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a robot and its secrets."""

    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> None:
        await _service(sessionmaker, config).delete(args.name)

    run_with_services(args, action)
    print(f"deleted robot {args.name!r}")
    return 0


def cmd_token_ttl(args: argparse.Namespace) -> int:
    """Set a robot's access-token lifetime, or return it to the server's (``default``)."""
    token_ttl = parse_token_ttl(args.ttl, "TTL")

    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> None:
        await _service(sessionmaker, config).set_token_ttl(args.name, token_ttl)

    run_with_services(args, action)
    shown = "the server's default" if token_ttl is None else f"{token_ttl} seconds"
    print(f"access tokens of robot {args.name!r} now live {shown}")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Make a new secret; older ones stop after the overlap."""
    try:
        overlap = parse_overlap(args.overlap, "--overlap")
    except ValueError as exc:
        raise CliError(str(exc)) from None

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> tuple[RobotRecord, str]:
        return await _service(sessionmaker, config).rotate(args.name, overlap=overlap)

    robot, secret = run_with_services(args, action)
    _print_secret(
        robot, secret, f"rotated the secret of robot (old ones end in {args.overlap})", args.json
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``robot`` command group."""
    parser = subparsers.add_parser("robot", help="manage robot accounts (robot$NAME)")
    sub = parser.add_subparsers(dest="robot_command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="create a robot and print its secret once")
    add.add_argument("name", help="NAME or robot$NAME")
    add.add_argument(
        "--scope", action="append", required=True, help="what it may do at most (repeatable)"
    )
    add.add_argument("--expires", help="secret lifetime such as 90d (default: never)")
    add.add_argument("--description", help="what it is for")
    add.add_argument(
        "--token-ttl",
        metavar="TTL",
        help="access-token lifetime overriding AUTHSVC_TOKEN_TTL (e.g. 900, 15m; >= 60 s)",
    )
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="list robots and their secrets' state")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    for verb, func in (("disable", cmd_disable), ("enable", cmd_enable), ("delete", cmd_delete)):
        command = sub.add_parser(verb, help=f"{verb} a robot")
        command.add_argument("name", help="NAME or robot$NAME")
        command.set_defaults(func=func)

    ttl = sub.add_parser("token-ttl", help="set the robot's access-token lifetime")
    ttl.add_argument("name", help="NAME or robot$NAME")
    ttl.add_argument("ttl", metavar="TTL", help="a duration of at least 60 s, or default")
    ttl.set_defaults(func=cmd_token_ttl)

    secret = sub.add_parser("secret", help="manage a robot's secret")
    secret_sub = secret.add_subparsers(dest="secret_command", required=True, metavar="COMMAND")
    rotate = secret_sub.add_parser(
        "rotate", help="print a new secret; old ones end after --overlap"
    )
    rotate.add_argument("name", help="NAME or robot$NAME")
    rotate.add_argument(
        "--overlap", default="0", help="how long old secrets keep working (e.g. 1h)"
    )
    rotate.add_argument("--json", action="store_true", help="machine-readable output")
    rotate.set_defaults(func=cmd_rotate)
