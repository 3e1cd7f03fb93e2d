"""Shared plumbing for the admin CLI: the error type, config loading and output helpers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from authsvc.config import Config, ConfigError, load_config

T = TypeVar("T")

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A user error: one line on stderr and exit status 1, which scripts tell from usage (2)."""


def get_config(args: argparse.Namespace) -> Config:
    """Load the configuration named by ``--config`` (or AUTHSVC_CONFIG) and the environment."""
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def read_password_stdin() -> str:
    """Read one line from standard input as a password, without its line ending."""
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("no password given on standard input")
    return password


def print_json(data: Any) -> None:
    """Print machine-readable output."""
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one async CLI action to completion."""
    import asyncio

    async def _main() -> T:
        return await coro_fn()

    return asyncio.run(_main())
