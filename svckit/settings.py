"""Parsing of setting values that both services read: booleans, ``host:port`` and durations.

Each parser takes the raw value (a YAML scalar or an environment string) and the setting's name
for error messages, and raises ``SettingError`` naming that setting. Both services wrap it into
their own ``ConfigError``.
"""

from __future__ import annotations

import re

# Go's strconv.ParseBool, which Distribution's configuration uses, plus yes/no/on/off.
_TRUE = frozenset({"1", "t", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "f", "false", "no", "off"})

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class SettingError(ValueError):
    """A setting's value is invalid; the message starts with the setting's name."""


def parse_bool(value: object, name: str) -> bool:
    """A boolean: YAML true/false, or 1/0, t/f, true/false, yes/no, on/off in any case.

    An empty string is false, as in Distribution, whose environment overrides are YAML-decoded
    (an empty value decodes to the zero value), so ``REGISTRY_STORAGE_DELETE_ENABLED=`` means off
    in both registries and both services agree.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError(f"{name}: expected true or false, got {value!r}")


def parse_hostport(value: object, name: str) -> tuple[str, int]:
    """Split ``host:port`` (also ``:5000`` and ``[::1]:5000``) into a host and a port.

    An empty host means every interface, as Go's ``net.Listen(":5000")`` does.
    """
    text = str(value).strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or not port_text.isascii():
        raise SettingError(f"{name}: expected host:port, got {value!r}")
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise SettingError(f"{name}: port {port} is out of range")
    if host.startswith("[") != host.endswith("]"):
        raise SettingError(f"{name}: unbalanced brackets in {value!r}")
    host = host[1:-1] if host.startswith("[") else host
    if ":" in host and not text.startswith("["):
        raise SettingError(f"{name}: write an IPv6 address in brackets, like [::1]:5000")
    return host or "0.0.0.0", port


def parse_duration(value: object, name: str, *, allow_zero: bool = False) -> float:
    """Seconds in a Go duration (``168h``, ``1h30m``, ``500ms``; ``d`` for days also works).

    A bare number is seconds. Zero is refused unless ``allow_zero`` (where 0 means "off").
    """
    if isinstance(value, bool):
        raise SettingError(f"{name}: expected a duration like '24h', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if _PLAIN_NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise SettingError(
                    f"{name}: expected a duration like '24h' or '90m', got {value!r}"
                )
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise SettingError(f"{name}: must be a positive duration, got {value!r}")
    return seconds
