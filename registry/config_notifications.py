"""The ``notifications`` section: Distribution's webhook endpoints, read and validated.

Distribution's configuration.md ("notifications") gives each endpoint a name, a URL, static
headers, a timeout, a failure threshold, a backoff and media types or actions to ignore; zero
or absent values take its defaults (1s timeout, threshold 10, 1s backoff). Two keys are not
Distribution's but GitLab's fork of it: ``queuesizelimit`` bounds the events waiting for one
endpoint and ``queuepurgetimeout`` bounds how long shutdown waits for them.

The section is a list of mappings, which the leaf table of registry/config.py cannot express,
so it is parsed here. As in Distribution's parser, ``REGISTRY_NOTIFICATIONS_ENDPOINTS`` holds the
whole list as YAML and replaces the file's. Unlike Distribution an unknown key, a misspelt action
or a non-HTTP URL is an error naming its path, so a typo never silently disables a webhook.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

from registry.config_values import ConfigError, as_bool, parse_duration

# Distribution's EndpointConfig.defaults (notifications/endpoint.go).
DEFAULT_TIMEOUT = 1.0
DEFAULT_THRESHOLD = 10
DEFAULT_BACKOFF = 1.0
# Ours (GitLab's key names): events held per endpoint, and the shutdown drain bound.
DEFAULT_QUEUE_SIZE = 1000
DEFAULT_PURGE_TIMEOUT = 5.0

# Distribution's EventAction constants (notifications/event.go).
ACTIONS = frozenset({"push", "pull", "delete", "mount"})

ENDPOINTS_ENV = "REGISTRY_NOTIFICATIONS_ENDPOINTS"
INCLUDE_REFERENCES_ENV = "REGISTRY_NOTIFICATIONS_EVENTS_INCLUDEREFERENCES"

_ENDPOINT_KEYS = frozenset(
    {
        "name",
        "disabled",
        "url",
        "headers",
        "timeout",
        "threshold",
        "backoff",
        "ignoredmediatypes",
        "ignore",
        "queuesizelimit",
        "queuepurgetimeout",
    }
)
# RFC 9110 §5.1 field names are tokens; values must not break the header block.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One webhook: where events go, how they are sent, retried and filtered."""

    name: str
    url: str
    # Static headers sent with every event, e.g. a bearer token: kept out of repr.
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float = DEFAULT_TIMEOUT
    threshold: int = DEFAULT_THRESHOLD
    backoff: float = DEFAULT_BACKOFF
    # ignoredmediatypes and ignore.mediatypes together, as Distribution merges them.
    ignored_media_types: frozenset[str] = frozenset()
    ignored_actions: frozenset[str] = frozenset()
    disabled: bool = False
    queue_size: int = DEFAULT_QUEUE_SIZE
    purge_timeout: float = DEFAULT_PURGE_TIMEOUT


@dataclass(frozen=True, slots=True)
class NotificationsConfig:
    """Every endpoint, and whether manifest events list the manifest's references."""

    include_references: bool = False
    endpoints: tuple[EndpointConfig, ...] = ()

    @property
    def active(self) -> tuple[EndpointConfig, ...]:
        """The endpoints that are not disabled."""
        return tuple(e for e in self.endpoints if not e.disabled)


def _mapping(value: object, path: str) -> Mapping[object, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping")
    return value


def _string_list(value: object, path: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: expected a list of strings")
    return frozenset(value)


def _duration(value: object, path: str, default: float) -> float:
    # Distribution: a zero (or absent) duration takes the default.
    if value is None:
        return default
    return parse_duration(value, path, allow_zero=True) or default


def _count(value: object, path: str, default: int, *, minimum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{path}: expected a whole number, got {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{path}: expected a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{path}: must be at least {minimum}, got {number}")
    return number or default


def _url(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}: required: the URL events are POSTed to")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{path}: expected an http:// or https:// URL, got {value!r}")
    return value


def _headers(value: object, path: str) -> tuple[tuple[str, str], ...]:
    """Distribution's http.Header: each name maps to a list of values (one string is accepted)."""
    headers: list[tuple[str, str]] = []
    for name, values in _mapping(value, path).items():
        where = f"{path}.{name}"
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ConfigError(f"{where}: not a valid header name")
        items = values if isinstance(values, list) else [values]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise ConfigError(f"{where}: expected a string or a list of strings")
            if _BAD_VALUE.search(str(item)):
                raise ConfigError(f"{where}: header values must not contain line breaks")
            headers.append((name, str(item)))
    return tuple(headers)


def _endpoint(raw: object, path: str) -> EndpointConfig:
    doc = _mapping(raw, path)
    unknown = sorted(str(k) for k in doc if k not in _ENDPOINT_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown configuration key(s): {', '.join(f'{path}.{k}' for k in unknown)}"
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}.name: required: a name for the endpoint")
    ignore = _mapping(doc.get("ignore"), f"{path}.ignore")
    unknown = sorted(str(k) for k in ignore if k not in ("mediatypes", "actions"))
    if unknown:
        raise ConfigError(f"unknown configuration key(s): {path}.ignore.{unknown[0]}")
    actions = _string_list(ignore.get("actions"), f"{path}.ignore.actions")
    if bad := sorted(actions - ACTIONS):
        raise ConfigError(
            f"{path}.ignore.actions: unknown action {bad[0]!r} "
            f"(one of {', '.join(sorted(ACTIONS))})"
        )
    media_types = _string_list(doc.get("ignoredmediatypes"), f"{path}.ignoredmediatypes")
    media_types |= _string_list(ignore.get("mediatypes"), f"{path}.ignore.mediatypes")
    disabled = doc.get("disabled")
    return EndpointConfig(
        name=name,
        url=_url(doc.get("url"), f"{path}.url"),
        headers=_headers(doc.get("headers"), f"{path}.headers"),
        timeout=_duration(doc.get("timeout"), f"{path}.timeout", DEFAULT_TIMEOUT),
        threshold=_count(doc.get("threshold"), f"{path}.threshold", DEFAULT_THRESHOLD, minimum=0),
        backoff=_duration(doc.get("backoff"), f"{path}.backoff", DEFAULT_BACKOFF),
        ignored_media_types=media_types,
        ignored_actions=actions,
        disabled=False if disabled is None else as_bool(disabled, f"{path}.disabled"),
        queue_size=_count(
            doc.get("queuesizelimit"), f"{path}.queuesizelimit", DEFAULT_QUEUE_SIZE, minimum=1
        ),
        purge_timeout=_duration(
            doc.get("queuepurgetimeout"), f"{path}.queuepurgetimeout", DEFAULT_PURGE_TIMEOUT
        ),
    )


def _endpoints_from_env(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{ENDPOINTS_ENV}: invalid YAML: {exc}") from None


def parse_notifications(raw: object, environ: Mapping[str, str]) -> NotificationsConfig:
    """The ``notifications`` section of the file (None if absent) with its REGISTRY_* overrides."""
    doc = _mapping(raw, "notifications")
    unknown = sorted(str(k) for k in doc if k not in ("events", "endpoints"))
    if unknown:
        raise ConfigError(
            f"unknown configuration key(s): {', '.join(f'notifications.{k}' for k in unknown)}"
        )
    events = _mapping(doc.get("events"), "notifications.events")
    unknown = sorted(str(k) for k in events if k != "includereferences")
    if unknown:
        raise ConfigError(f"unknown configuration key(s): notifications.events.{unknown[0]}")
    include: object = events.get("includereferences")
    if (env := environ.get(INCLUDE_REFERENCES_ENV)) is not None:
        include = env
    raw_endpoints = doc.get("endpoints")
    if (env := environ.get(ENDPOINTS_ENV)) is not None:
        raw_endpoints = _endpoints_from_env(env)
    if raw_endpoints is None:
        raw_endpoints = []
    if not isinstance(raw_endpoints, list):
        raise ConfigError("notifications.endpoints: expected a list of endpoints")
    endpoints = tuple(
        _endpoint(item, f"notifications.endpoints[{i}]") for i, item in enumerate(raw_endpoints)
    )
    names = [e.name for e in endpoints]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        # The name labels the endpoint's metrics and log lines, so it must be unique.
        raise ConfigError(f"notifications.endpoints: the name {duplicate!r} is used twice")
    return NotificationsConfig(
        include_references=False
        if include is None
        else as_bool(include, "notifications.events.includereferences"),
        endpoints=endpoints,
    )
