"""``authsvc acl ...``: add, list, delete, check, import and export ACL rules.

Every command calls ``authsvc.acl_service``, as ``/api/v1/acl`` does. ``acl check`` runs the
token endpoint's own decision path (``authsvc.explain`` over the objects that
``authsvc.services`` wires for the server) and explains each grant with its deciding rule.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authsvc import acl, aclfile
from authsvc.acl_service import Position
from authsvc.cli.common import CliError, parse_moment, print_json
from authsvc.cli.dbsession import run_admin
from authsvc.explain import Explanation, explanation_json, explanation_lines
from authsvc.models import utcnow
from authsvc.services import AdminServices


def _position(args: argparse.Namespace) -> Position | None:
    if args.before is not None and args.after is not None:
        raise CliError("give --before or --after, not both")
    if args.before is not None:
        return ("before", args.before)
    if args.after is not None:
        return ("after", args.after)
    return None


def cmd_add(args: argparse.Namespace) -> int:
    """Validate and store one rule, at --priority or just --before/--after a rule."""
    position = _position(args)
    now = utcnow()
    valid_from = parse_moment(args.valid_from, "--from", now) if args.valid_from else None
    valid_until = parse_moment(args.valid_until, "--until", now) if args.valid_until else None

    async def action(admin: AdminServices) -> acl.AclRule:
        return await admin.acl.add(
            account=args.account,
            name=args.name,
            type=args.type,
            actions=[args.actions] if args.actions is not None else [],
            service=args.service,
            effect=args.effect,
            priority=args.priority,
            comment=args.comment,
            position=position,
            valid_from=valid_from,
            valid_until=valid_until,
            filtered=args.filtered,
        )

    rule = run_admin(args, action)
    print(f"added rule {acl.describe_rule(rule)}")
    return 0


async def _list(admin: AdminServices) -> list[acl.AclRule]:
    return await admin.acl.list()


def cmd_list(args: argparse.Namespace) -> int:
    """List rules in evaluation order."""
    rules = run_admin(args, _list)
    if args.json:
        print_json([acl.rule_to_dict(r) for r in rules])
    else:
        for rule in rules:
            print(acl.describe_rule(rule))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete one rule by id."""

    async def action(admin: AdminServices) -> acl.AclRule:
        return await admin.acl.delete(args.id)

    rule = run_admin(args, action)
    print(f"deleted rule {acl.describe_rule(rule)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Print the grant and the deciding rule for each scope, as the token endpoint decides."""

    async def action(admin: AdminServices) -> Explanation:
        return await admin.acl.check(args.account, args.scopes, args.service)

    explanation = run_admin(args, action)
    if args.json:
        print_json(explanation_json(explanation))
    else:
        for line in explanation_lines(explanation):
            print(line, file=sys.stderr if line.startswith("note:") else sys.stdout)
    return 0


def _read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{source}: not UTF-8 text") from None


def cmd_import(args: argparse.Namespace) -> int:
    """Add the rules of a docker_auth-style YAML file (all or nothing)."""
    try:
        rules = aclfile.parse(_read_source(args.file))
    except acl.RuleError as exc:
        raise CliError(f"{args.file}: {exc}") from None

    async def action(admin: AdminServices) -> list[acl.AclRule]:
        return await admin.acl.add_all(rules, replace=args.replace)

    stored = run_admin(args, action)
    verb = "replaced all rules with" if args.replace else "imported"
    print(f"{verb} {len(stored)} rule(s) from {args.file}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print every rule as a docker_auth-style YAML file."""
    sys.stdout.write(aclfile.export(run_admin(args, _list)))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``acl`` command group."""
    parser = subparsers.add_parser("acl", help="manage access-control rules")
    sub = parser.add_subparsers(dest="acl_command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="add a rule")
    add.add_argument("--account", required=True, help="glob, /regex/, group:NAME or @anonymous")
    add.add_argument("--name", required=True, help="glob or /regex/; ${account} expands")
    add.add_argument("--type", default=acl.DEFAULT_TYPE, help="resource type (default repository)")
    add.add_argument("--actions", help="comma-separated: pull,push,delete or *")
    add.add_argument("--service", help="only for this service (glob or /regex/)")
    add.add_argument(
        "--effect",
        choices=acl.EFFECTS,
        default="allow",
        help="deny: a match grants nothing and ends evaluation (give no --actions)",
    )
    add.add_argument(
        "--priority",
        default=str(acl.DEFAULT_PRIORITY),
        help=f"lower is evaluated first (default {acl.DEFAULT_PRIORITY})",
    )
    add.add_argument("--comment", help="free text, shown by acl list and acl check")
    add.add_argument(
        "--from",
        dest="valid_from",
        metavar="TIME",
        help="the rule applies from TIME: RFC 3339 (2027-01-31T09:00:00Z) or a duration from now",
    )
    add.add_argument(
        "--until",
        dest="valid_until",
        metavar="TIME",
        help="the rule stops applying at TIME (RFC 3339, or a duration from now such as 30d)",
    )
    add.add_argument(
        "--filtered",
        action="store_true",
        help="with --type registry --name catalog: grant the catalog filtered to the "
        "repositories the account may pull",
    )
    add.add_argument(
        "--before", type=int, metavar="ID", help="evaluate just before rule ID (sets the priority)"
    )
    add.add_argument(
        "--after", type=int, metavar="ID", help="evaluate just after rule ID (sets the priority)"
    )
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="list rules in evaluation order")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    remove = sub.add_parser("delete", help="delete a rule")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=cmd_delete)

    check = sub.add_parser("check", help="explain what the ACL grants")
    check.add_argument("account", help=f"a user name, or {acl.ANONYMOUS}")
    check.add_argument("scopes", nargs="+", metavar="SCOPE", help="e.g. repository:alice/app:pull")
    check.add_argument("--service", help="the requested service (default: the first configured)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=cmd_check)

    imp = sub.add_parser("import", help="add rules from a docker_auth-style YAML file")
    imp.add_argument("file", help="the YAML file, or - for stdin")
    imp.add_argument("--replace", action="store_true", help="delete all existing rules first")
    imp.set_defaults(func=cmd_import)

    sub.add_parser("export", help="print the rules as YAML").set_defaults(func=cmd_export)
