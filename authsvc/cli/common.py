"""Shared plumbing for the admin CLI: the error type, config loading and output helpers."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from authsvc.config import Config, ConfigError, load_config
from authsvc.models import MIN_TOKEN_TTL
from svckit.settings import SettingError, parse_duration

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


def parse_token_ttl(value: str, option: str = "--token-ttl") -> int | None:
    """An account's token lifetime: a duration (``300``, ``15m``) of at least 60 s, or
    ``default`` (None: the server's AUTHSVC_TOKEN_TTL)."""
    if value == "default":
        return None
    try:
        seconds = parse_duration(value, option)
    except SettingError as exc:
        raise CliError(str(exc)) from None
    if seconds != int(seconds) or seconds < MIN_TOKEN_TTL:
        raise CliError(f"{option}: must be whole seconds, at least {MIN_TOKEN_TTL}, got {value!r}")
    return int(seconds)


def parse_moment(value: str, option: str, now: dt.datetime) -> dt.datetime:
    """An RFC 3339 time with its offset (``2027-01-31T18:00:00Z``), or a duration from ``now``
    (``30d``, ``+12h``)."""
    # Imported here: the acl service pulls in the authenticators, which `--help` never needs.
    from authsvc.acl_service import parse_moment as parse

    try:
        return parse(value, option, now)
    except ValueError as exc:
        raise CliError(str(exc)) from None
