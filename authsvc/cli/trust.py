"""``authsvc trust add|list|delete|check``: keyless CI logins through OpenID Connect ID tokens.

``check`` verifies a token exactly as the token endpoint does (the same authenticator, the same
issuer documents fetched over HTTPS) and says which trust accepts it and what it grants.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.authn.federation import TokenRefused
from authsvc.authn.types import BackendUnavailable
from authsvc.authz import SqlRuleSource
from authsvc.cli.common import CliError, print_json
from authsvc.cli.dbsession import run_with_services
from authsvc.config import Config
from authsvc.errors import AuthError
from authsvc.explain import (
    TrustExplanation,
    explain_trust,
    trust_explanation_json,
    trust_explanation_lines,
)
from authsvc.scope import ScopeError, parse_requested_scopes
from authsvc.services import build_access_decider, build_federation_authenticator
from authsvc.trust_service import TrustService, trust_to_dict
from authsvc.trusts import Trust
from svckit.settings import SettingError, parse_duration


def parse_ttl(value: str | None) -> int | None:
    """``10m``, ``1h`` or a number of seconds (None: the server's token ttl)."""
    if value is None:
        return None
    try:
        return round(parse_duration(value, "--ttl"))
    except SettingError as exc:
        raise CliError(str(exc)) from None


def default_name(claims: list[str]) -> str:
    """A name from the first claim's pattern: ``repository=org/app`` gives ``org-app``."""
    pattern = claims[0].partition("=")[2] if claims else ""
    slug = re.sub(r"[^a-z0-9._-]+", "-", pattern.lower()).strip("-._")
    return slug[:63] or "trust"


def trust_line(trust: Trust) -> str:
    """One line of ``trust list``."""
    claims = " ".join(c.text for c in trust.conditions)
    grants = " ".join(g.text for g in trust.grants)
    ttl = f"{trust.ttl}s" if trust.ttl else "default"
    return (
        f"{trust.name} issuer={trust.issuer} audience={trust.audience} claims={claims} "
        f"grants={grants} ttl={ttl}"
    )


def cmd_add(args: argparse.Namespace) -> int:
    """Add a trust."""
    ttl = parse_ttl(args.ttl)
    name = args.name or default_name(args.claim or [])

    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> Trust:
        return await TrustService(sessionmaker).add(
            name,
            issuer=args.issuer,
            audience=args.audience,
            claims=args.claim or [],
            grants=args.grant,
            ttl=ttl,
        )

    trust = run_with_services(args, action)
    if args.json:
        print_json(trust_to_dict(trust))
    else:
        print(f"added trust {trust.name}: tokens it accepts log in as {trust.subject}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List trusts in the order they are tried."""

    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> list[Trust]:
        return await TrustService(sessionmaker).list()

    trusts = run_with_services(args, action)
    if args.json:
        print_json([trust_to_dict(t) for t in trusts])
    else:
        for trust in trusts:
            print(trust_line(trust))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a trust by name."""

    async def action(sessionmaker: async_sessionmaker[AsyncSession], config: Config) -> None:
        await TrustService(sessionmaker).delete(args.name)

    run_with_services(args, action)
    print(f"deleted trust {args.name}")
    return 0


def read_token(path: str) -> str:
    """The ID token in ``path`` (``-``: standard input), surrounding white space removed."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    token = text.strip()
    if not token:
        raise CliError(f"{path} holds no token")
    return token


def cmd_check(args: argparse.Namespace) -> int:
    """Verify a token as /auth does; say which trust matches and what it grants."""
    token = read_token(args.jwt_file)
    try:
        scopes = parse_requested_scopes(args.scope or [])
    except ScopeError as exc:
        raise CliError(f"invalid scope: {exc}") from None

    async def action(
        sessionmaker: async_sessionmaker[AsyncSession], config: Config
    ) -> TrustExplanation:
        # The token endpoint's own objects (services.py), without the server's caches.
        decider = build_access_decider(config, SqlRuleSource(sessionmaker))
        try:
            service = decider.check_service(args.service or config.token.services[0])
        except AuthError:
            raise CliError(f"unknown service {args.service!r}") from None
        federation = build_federation_authenticator(
            config, TrustService(sessionmaker, ttl=0), cached=False
        )
        try:
            return await explain_trust(token, federation, decider, service, scopes)
        except TokenRefused as exc:
            raise CliError(f"refused: {exc}") from None
        except BackendUnavailable as exc:
            raise CliError(f"unavailable: {exc}") from None

    explanation = run_with_services(args, action)
    if args.json:
        print_json(trust_explanation_json(explanation))
    else:
        for line in trust_explanation_lines(explanation):
            print(line)
    if explanation.matched is None:
        raise CliError("no trust matches this ID token")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``trust`` command group."""
    parser = subparsers.add_parser(
        "trust", help="manage OpenID Connect trusts (keyless CI logins with ID tokens)"
    )
    sub = parser.add_subparsers(dest="trust_command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="trust ID tokens of an issuer that match claim conditions")
    add.add_argument("--issuer", required=True, help="the issuer URL (https), matched exactly")
    add.add_argument("--audience", required=True, help="the audience tokens must carry in aud")
    add.add_argument(
        "--claim",
        action="append",
        metavar="KEY=PATTERN",
        help="a claim condition with the ACL's pattern syntax; all must match (repeatable)",
    )
    add.add_argument(
        "--grant",
        action="append",
        required=True,
        help="what matching tokens get, e.g. 'repository:org/app:pull,push' (repeatable)",
    )
    add.add_argument(
        "--ttl", help="lifetime of the access tokens, 1m to 1h (default: the server's)"
    )
    add.add_argument("--name", help="the trust's name (default: from the first claim's pattern)")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(func=cmd_add)

    listing = sub.add_parser("list", help="list trusts in the order they are tried")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)

    delete = sub.add_parser("delete", help="delete a trust")
    delete.add_argument("name", help="the trust's name (see trust list)")
    delete.set_defaults(func=cmd_delete)

    check = sub.add_parser("check", help="verify an ID token and show which trust matches")
    check.add_argument(
        "jwt_file", metavar="JWT_FILE", help="file holding the ID token (- for stdin)"
    )
    check.add_argument("scope", nargs="*", help="scopes to decide, as a token request names them")
    check.add_argument("--service", help="the service (default: the first configured)")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(func=cmd_check)
