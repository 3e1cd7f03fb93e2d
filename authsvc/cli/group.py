"""``authsvc group ...``: groups, matched by ACL account patterns ``group:NAME``."""

from __future__ import annotations

import argparse

from authsvc import store
from authsvc.cli.common import CliError, print_json
from authsvc.cli.dbsession import run_admin
from authsvc.group_service import group_to_dict
from authsvc.names import normalize_group_name, normalize_username
from authsvc.services import AdminServices


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

    async def action(admin: AdminServices) -> store.GroupRecord:
        return await admin.groups.add(name)

    group = run_admin(args, action)
    print(f"created group {group.name!r}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a group and its memberships."""
    name = _group_name(args.name)

    async def action(admin: AdminServices) -> None:
        await admin.groups.delete(name)

    run_admin(args, action)
    print(f"deleted group {name!r}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List groups with their members."""

    async def action(admin: AdminServices) -> list[store.GroupRecord]:
        return await admin.groups.list()

    groups = run_admin(args, action)
    if args.json:
        print_json([group_to_dict(g) for g in groups])
        return 0
    for group in groups:
        print(f"{group.name}: {', '.join(group.members) if group.members else '(no members)'}")
    return 0


def cmd_member(args: argparse.Namespace) -> int:
    """Add a user to a group or remove them from it."""
    group, user = _group_name(args.group), _user_name(args.user)

    async def action(admin: AdminServices) -> None:
        if args.member_command == "add":
            await admin.groups.add_member(group, user)
        else:
            await admin.groups.remove_member(group, user)

    run_admin(args, action)
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
