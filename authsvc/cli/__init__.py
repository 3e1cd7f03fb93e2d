"""The ``authsvc`` console script: one module per command group (warehouse's cli/ layout)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from authsvc.cli.common import CliError

# The modules of the command groups, in --help order. Each defines ``register(subparsers)``, which
# adds its group (``refresh_tokens`` adds ``token``), and every command sets ``func``.
_GROUPS = (
    "serve",
    "db",
    "keys",
    "user",
    "group",
    "acl",
    "refresh_tokens",
    "pat",
    "robot",
    "trust",
    "throttle",
    "audit",
)

_CONFIG_HELP = "YAML settings file (default: $AUTHSVC_CONFIG)"


class _Parser(argparse.ArgumentParser):
    """A parser that accepts ``--config FILE``, and makes its subcommand parsers do the same.

    ``add_subparsers`` builds subcommand parsers of the parent's class, so every level of
    ``authsvc GROUP COMMAND`` takes ``--config`` and ``authsvc --config F user list`` and
    ``authsvc user list --config F`` mean the same. SUPPRESS leaves the attribute unset unless
    given, so a subcommand's default never overwrites a value given before it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Build the parser and add ``--config``."""
        super().__init__(*args, **kwargs)
        self.add_argument("--config", default=argparse.SUPPRESS, metavar="FILE", help=_CONFIG_HELP)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every command group."""
    parser = _Parser(prog="authsvc", description="Docker token auth server")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _GROUPS:
        importlib.import_module(f"authsvc.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 on success, 1 on a user error (one line on stderr), 2 on usage errors."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        code = int(args.func(args))
        if code == 0:
            # Imported here: the audit module pulls in the handlers, which `--help` never needs.
            from authsvc.cli.audit import record_admin_change

            record_admin_change(args)
    except CliError as exc:
        print(f"authsvc: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
