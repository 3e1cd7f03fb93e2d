"""The ``authsvc`` console script: one module per command group (warehouse's cli/ layout)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from authsvc.cli.common import CliError

# Each module defines ``register(subparsers)`` and sets ``func`` (Namespace -> exit code).
_GROUPS = ("serve", "db", "keys", "user", "group", "acl", "token")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every command group."""
    parser = argparse.ArgumentParser(prog="authsvc", description="Docker token auth server")
    parser.add_argument("--config", help="YAML settings file (default: $AUTHSVC_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _GROUPS:
        try:
            module = importlib.import_module(f"authsvc.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"authsvc.cli.{name}":
                continue  # the group is not implemented yet
            raise
        module.register(sub)
    return parser


def _hoist_config(argv: list[str]) -> list[str]:
    """Accept ``--config FILE`` after the subcommand too (``authsvc serve --config FILE``)."""
    out: list[str] = []
    hoisted: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg == "--config" and i + 1 < len(argv):
            hoisted = ["--config", argv[i + 1]]
            i += 2
            continue
        if arg.startswith("--config="):
            hoisted = [arg]
        else:
            out.append(arg)
        i += 1
    return hoisted + out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 on a user error, 2 on a usage error (CONTRACT)."""
    parser = build_parser()
    args = parser.parse_args(_hoist_config(list(sys.argv[1:] if argv is None else argv)))
    try:
        code = int(args.func(args))
    except CliError as exc:
        print(f"authsvc: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
