"""``authsvc acl ...``: add, list, delete, check, import and export ACL rules.

``acl check`` runs the token endpoint's own decision path (``authsvc.explain`` over the objects
that ``authsvc.services`` wires for the server) and explains each grant with its deciding rule.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import acl, aclfile, db, store
from authsvc.authz import SqlRuleSource
from authsvc.cli.common import CliError, get_config, parse_moment, print_json, run
from authsvc.cli.dbsession import run_in_session
from authsvc.config import Config
from authsvc.errors import AuthError
from authsvc.explain import Explanation, explain, explanation_json, explanation_lines
from authsvc.models import utcnow
from authsvc.names import normalize_username
from authsvc.scope import Scope, ScopeError, parse_requested_scopes
from authsvc.services import build_access_decider, build_local_authenticator

T = TypeVar("T")


def cmd_add(args: argparse.Namespace) -> int:
    """Validate and store one rule."""
    try:
        priority = acl.parse_priority(args.priority)
    except acl.RuleError as exc:
        raise CliError(str(exc)) from None
    now = utcnow()
    valid_from = parse_moment(args.valid_from, "--from", now) if args.valid_from else None
    valid_until = parse_moment(args.valid_until, "--until", now) if args.valid_until else None

    async def action(session: AsyncSession) -> acl.AclRule:
        return await store.add_rule(
            session,
            account=args.account,
            name=args.name,
            type=args.type,
            actions=[args.actions] if args.actions is not None else [],
            service=args.service,
            effect=args.effect,
            priority=priority,
            comment=args.comment,
            valid_from=valid_from,
            valid_until=valid_until,
            filtered=args.filtered,
        )

    rule = run_in_session(args, action)
    print(f"added rule {acl.describe_rule(rule)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List rules in evaluation order."""
    rules = run_in_session(args, store.list_rules)
    if args.json:
        print_json([acl.rule_to_dict(r) for r in rules])
    else:
        for rule in rules:
            print(acl.describe_rule(rule))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete one rule by id."""

    async def action(session: AsyncSession) -> acl.AclRule:
        return await store.delete_rule(session, args.id)

    rule = run_in_session(args, action)
    print(f"deleted rule {acl.describe_rule(rule)}")
    return 0


def _scopes(values: list[str]) -> tuple[Scope, ...]:
    try:
        return parse_requested_scopes(values)
    except ScopeError as exc:
        raise CliError(str(exc)) from None


def cmd_check(args: argparse.Namespace) -> int:
    """Print the grant and the deciding rule for each scope, as the token endpoint decides."""
    config = get_config(args)
    scopes = _scopes(args.scopes)
    account: str | None = None
    if args.account != acl.ANONYMOUS:
        try:
            account = normalize_username(args.account)
        except ValueError as exc:
            raise CliError(f"{exc} (use {acl.ANONYMOUS} for anonymous requests)") from None

    async def action(sessionmaker: async_sessionmaker[AsyncSession]) -> Explanation:
        # The token endpoint's own objects (services.py), without the server's caches.
        decider = build_access_decider(config, SqlRuleSource(sessionmaker))
        try:
            service = decider.check_service(args.service or config.token.services[0])
        except AuthError:
            known = ", ".join(config.token.services)
            raise CliError(
                f"unknown service {args.service!r} (this server issues for: {known})"
            ) from None
        local = build_local_authenticator(config, sessionmaker, None, cached=False)
        return await explain(account, service, scopes, local, decider)

    explanation = run_with_sessionmaker(config, action)
    if args.json:
        print_json(explanation_json(explanation))
    else:
        for line in explanation_lines(explanation):
            print(line, file=sys.stderr if line.startswith("note:") else sys.stdout)
    return 0


def run_with_sessionmaker(
    config: Config, action: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run ``action`` with a sessionmaker on the configured database; store errors -> CliError."""

    async def main() -> T:
        engine = db.make_engine(config.database)
        try:
            return await action(db.make_sessionmaker(engine))
        except store.StoreError as exc:
            raise CliError(str(exc)) from None
        finally:
            await engine.dispose()

    return run(main)


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

    async def action(session: AsyncSession) -> list[acl.AclRule]:
        if args.replace:
            return await store.replace_rules(session, rules)
        return await store.add_rules(session, rules)

    stored = run_in_session(args, action)
    verb = "replaced all rules with" if args.replace else "imported"
    print(f"{verb} {len(stored)} rule(s) from {args.file}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Print every rule as a docker_auth-style YAML file."""
    sys.stdout.write(aclfile.export(run_in_session(args, store.list_rules)))
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
