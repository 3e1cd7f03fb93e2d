"""``authsvc group ...``: groups, matched by ACL account patterns ``group:NAME``."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import store
from authsvc.cli.common import CliError, print_json
from authsvc.cli.dbsession import run_in_session
from authsvc.names import normalize_group_name, normalize_username


def _group_name(value: str) -> str:
    try:
        return normalize_group_name(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _user_name(value: str) -> str:
    try:
        return normalize_username(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def cmd_add(args: argparse.Namespace) -> int:
    """Create a group."""
    name = _group_name(args.name)

    async def action(session: AsyncSession) -> store.GroupRecord:
        return await store.create_group(session, name)

    group = run_in_session(args, action)
    print(f"created group {group.name!r}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a group and its memberships."""
    name = _group_name(args.name)

    async def action(session: AsyncSession) -> None:
        await store.delete_group(session, name)

    run_in_session(args, action)
    print(f"deleted group {name!r}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List groups with their members."""
    groups = run_in_session(args, store.list_groups)
    if args.json:
        print_json(
            [
                {
                    "id": g.id,
                    "name": g.name,
                    "created_at": g.created_at.isoformat(),
                    "members": list(g.members),
                }
                for g in groups
            ]
        )
        return 0
    for group in groups:
        print(f"{group.name}: {', '.join(group.members) if group.members else '(no members)'}")
    return 0


def cmd_member(args: argparse.Namespace) -> int:
    """Add a user to a group or remove them from it."""
    group, user = _group_name(args.group), _user_name(args.user)

    async def action(session: AsyncSession) -> None:
        if args.member_command == "add":
            await store.add_member(session, group, user)
        else:
            await store.remove_member(session, group, user)

    run_in_session(args, action)
    verb = "added" if args.member_command == "add" else "removed"
    print(f"{verb} {user!r} {'to' if verb == 'added' else 'from'} group {group!r}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``group`` command group."""
    parser = subparsers.add_parser("group", help="manage groups")
    sub = parser.add_subparsers(dest="group_command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="create a group")
    add.add_argument("name")
    add.set_defaults(func=cmd_add)

    remove = sub.add_parser("delete", help="delete a group")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_delete)

    listing = sub.add_parser("list", help="list groups and members")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    member = sub.add_parser("member", help="add or remove a group member")
    member_sub = member.add_subparsers(dest="member_command", required=True, metavar="ACTION")
    for verb in ("add", "remove"):
        cmd = member_sub.add_parser(verb, help=f"{verb} a member")
        cmd.add_argument("group")
        cmd.add_argument("user")
        cmd.set_defaults(func=cmd_member)
