"""Converters of the registry's configuration values; each names the dotted key in its errors.

Booleans, ``host:port`` and durations go through ``svckit.settings``, which authsvc uses too, so
the two services read a value the same way; the others are the registry's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from svckit.logs import LEVELS
from svckit.settings import SettingError, parse_bool, parse_hostport
from svckit.settings import parse_duration as svckit_parse_duration

_T = TypeVar("_T")
_LOG_LEVELS = LEVELS


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting's dotted path."""


def as_str(value: object, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value) == "":
        raise ConfigError(f"{path}: expected a non-empty string, got {value!r}")
    return str(value)


def _setting(parse: Callable[..., _T], value: object, path: str, **options: Any) -> _T:
    """Run a shared svckit parser, turning its SettingError into this module's ConfigError."""
    try:
        return parse(value, path, **options)
    except SettingError as exc:
        raise ConfigError(str(exc)) from None


def as_bool(value: object, path: str) -> bool:
    # Go's strconv.ParseBool words plus yes/no/on/off; an empty value is false, as in
    # Distribution, whose overrides are YAML-decoded into the zero value.
    return _setting(parse_bool, value, path)


def parse_duration(value: object, path: str = "duration", *, allow_zero: bool = False) -> float:
    """Seconds in a Go duration string ("168h", "1h30m", "500ms"); a bare number is seconds."""
    return _setting(svckit_parse_duration, value, path, allow_zero=allow_zero)


def as_size(value: object, path: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{path}: expected a byte count, got {value!r}")
    try:
        size = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{path}: expected a byte count, got {value!r}") from None
    if size < 0:
        raise ConfigError(f"{path}: must not be negative, got {size}")
    return size


def as_level(value: object, path: str) -> str:
    level = as_str(value, path).lower()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"{path}: expected one of {', '.join(_LOG_LEVELS)}, got {value!r}")
    return level


def as_formatter(value: object, path: str) -> str:
    formatter = as_str(value, path).lower()
    if formatter not in ("text", "json"):
        raise ConfigError(f"{path}: expected text or json, got {formatter!r}")
    return formatter


def as_metrics_path(value: object, path: str) -> str:
    text = as_str(value, path)
    if not text.startswith("/"):
        raise ConfigError(f"{path}: must start with '/', got {text!r}")
    return text


def as_positive_int(value: object, path: str) -> int:
    try:
        workers = int(str(value))
    except ValueError:
        raise ConfigError(f"{path}: expected a whole number, got {value!r}") from None
    if workers < 1:
        raise ConfigError(f"{path}: must be at least 1, got {workers}")
    return workers


def as_version(value: object, path: str) -> str:
    # YAML reads `version: 0.1` as a float; Distribution accepts only 0.1.
    text = as_str(value, path)
    if text != "0.1":
        raise ConfigError(f"{path}: only version 0.1 is supported, got {value!r}")
    return text


def parse_addr(value: str, path: str = "http.addr") -> tuple[str, int]:
    """Split "host:port" (":5000" and "[::1]:5000" too) into a host and a port."""
    # An empty host binds every interface, as Go's net.Listen(":5000") does.
    return _setting(parse_hostport, value, path)


def as_path_list(value: object, path: str) -> tuple[str, ...]:
    """A YAML list of file names, or one name (comma-separated in the environment)."""
    items = value if isinstance(value, list) else str(value).split(",")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    if not names:
        raise ConfigError(f"{path}: expected at least one file")
    return names
