"""The converters of authsvc's settings: each validates one raw value and returns the field's.

A converter takes the raw value (a YAML scalar or list, or an environment string) and the name
to put in error messages (the dotted path or the variable). ``authsvc.config`` lists which
setting uses which; keeping them apart keeps that table readable.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

from svckit.settings import parse_duration, parse_hostport


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting's dotted path."""


# The identity backends this build can ask; AUTHSVC_AUTHENTICATORS lists some of them in order.
KNOWN_AUTHENTICATORS = ("local", "ldap")


def normalize_database_url(url: str) -> str:
    """Map plain ``sqlite://`` and ``postgresql://`` URLs to their async drivers.

    Operators write the URLs that psql and sqlite3 documentation show; SQLAlchemy's asyncio
    extension needs the async DBAPI named in the scheme (aiosqlite, asyncpg).
    """
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


Converter = Callable[[object, str], object]


def integer(minimum: int) -> Converter:
    def convert(value: object, name: str) -> int:
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        try:
            result = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
        if result < minimum:
            raise ConfigError(f"{name}: must be at least {minimum}, got {result}")
        return result

    return convert


def seconds(minimum: int) -> Converter:
    """Whole seconds, written as a number or a Go duration (``300``, ``5m``, ``90d``)."""

    def convert(value: object, name: str) -> int:
        seconds = parse_duration(value, name, allow_zero=True)
        if seconds != int(seconds):
            raise ConfigError(f"{name}: must be a whole number of seconds, got {value!r}")
        if seconds < minimum:
            raise ConfigError(f"{name}: must be at least {minimum} seconds, got {value!r}")
        return int(seconds)

    return convert


def text(value: object, name: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise ConfigError(f"{name}: expected a non-empty string")
    return str(value)


def path(value: object, name: str) -> Path:
    return Path(text(value, name))


def database_url(value: object, name: str) -> str:
    return normalize_database_url(text(value, name))


def names(value: object) -> list[str]:
    """A YAML list or a comma-separated string, with blanks and empty items dropped."""
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def services(value: object, name: str) -> tuple[str, ...]:
    services = tuple(names(value))
    if not services:
        raise ConfigError(f"{name}: at least one service name is required")
    return services


def authenticators(value: object, name: str) -> tuple[str, ...]:
    # Order matters (the first backend that knows the user decides), so a repeat is a mistake
    # rather than something to fold away.
    chosen: list[str] = []
    for item in names(value):
        if item not in KNOWN_AUTHENTICATORS:
            known = ", ".join(KNOWN_AUTHENTICATORS)
            raise ConfigError(f"{name}: unknown authenticator {item!r} (known: {known})")
        if item in chosen:
            raise ConfigError(f"{name}: authenticator {item!r} is listed twice")
        chosen.append(item)
    if not chosen:
        raise ConfigError(f"{name}: at least one authenticator is required")
    return tuple(chosen)


def ldap_url(value: object, name: str) -> str:
    url = text(value, name)
    if not url.lower().startswith(("ldap://", "ldaps://")):
        raise ConfigError(f"{name}: expected an ldap:// or ldaps:// URL, got {url!r}")
    return url


def optional_text(value: object, name: str) -> str:
    return "" if value is None or value == "" else text(value, name)


def placeholder(key: str) -> Converter:
    """Text that must contain ``{key}`` exactly where the value is substituted."""

    def convert(value: object, name: str) -> str:
        template = text(value, name)
        if "{" + key + "}" not in template:
            raise ConfigError(f"{name}: must contain {{{key}}}, got {template!r}")
        return template

    return convert


def group_map(value: object, name: str) -> tuple[tuple[str, str], ...]:
    """``directory=authsvc`` pairs, as a YAML list or a comma-separated string."""
    pairs: list[tuple[str, str]] = []
    for item in names(value):
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(f"{name}: expected DIRECTORY_GROUP=AUTHSVC_GROUP, got {item!r}")
        pairs.append((source.strip(), target.strip()))
    return tuple(pairs)


def http_url(value: object, name: str) -> str:
    url = text(value, name)
    if not url.startswith(("https://", "http://")) or "#" in url:
        raise ConfigError(f"{name}: expected an http(s) URL without a fragment, got {url!r}")
    return url


def https_url(value: object, name: str) -> str:
    # OpenID Connect Discovery 1.0 section 2: the issuer is an https URL with no query or
    # fragment. Plain http is tolerated only on loopback, for development.
    url = http_url(value, name).rstrip("/")
    loopback = url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]"))
    if "?" in url or not (url.startswith("https://") or loopback):
        raise ConfigError(f"{name}: expected an https URL with no query, got {url!r}")
    return url


def scopes(value: object, name: str) -> tuple[str, ...]:
    scopes = tuple(item for item in names(value) for item in item.split())
    if "openid" not in scopes:
        raise ConfigError(f"{name}: must include openid, got {' '.join(scopes)!r}")
    return scopes


def choice(*allowed: str) -> Converter:
    """One of ``allowed`` (case-insensitive)."""

    def convert(value: object, name: str) -> str:
        chosen = text(value, name).strip().lower()
        if chosen not in allowed:
            raise ConfigError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
        return chosen

    return convert


def cidrs(value: object, name: str) -> tuple[str, ...]:
    """CIDRs (or single addresses) as a YAML list or a comma-separated string."""
    out: list[str] = []
    for item in names(value):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(f"{name}: not an IP network: {item!r}") from None
    return tuple(out)


def optional_hostport(value: object, name: str) -> tuple[str | None, int | None]:
    """``host:port``, or empty for "not listening" (both parts ``None``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    return parse_hostport(value, name)
