"""Registry settings: a subset of Distribution's config.yml plus its ``REGISTRY_*`` overrides.

The implemented keys are documented in registry/CONFIG.md.  Every leaf key at dotted path
``a.b.c`` can be overridden by the environment variable ``REGISTRY_A_B_C``, which is the
rule Distribution applies (configuration/parser.go).  Keys the file may carry but that this
registry does not act on are listed in ``IGNORED_SECTIONS``; any other key is rejected with a
message naming its dotted path.  Booleans, ``host:port`` and durations are read by the parsers in
``svckit.settings`` that authsvc uses too, so the two services cannot disagree on a value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry.config_notifications import NotificationsConfig, parse_notifications
from registry.config_values import (
    ConfigError as ConfigError,
)
from registry.config_values import (
    as_bool,
    as_formatter,
    as_level,
    as_metrics_path,
    as_path_list,
    as_positive_int,
    as_size,
    as_str,
    as_version,
    parse_addr,
    parse_duration,
)

DEFAULT_ADDR = "127.0.0.1:5000"


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Log verbosity (Distribution's logrus level names) and the access log switch."""

    level: str = "info"
    accesslog: bool = True
    # Distribution's log.formatter: "text" or "json" (logstash is not offered).
    formatter: str = "text"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Certificate chain and private key (PEM files) for HTTPS."""

    certificate: Path
    key: Path
    # Distribution's http.tls.clientcas: CA files that client certificates must chain to
    # (mutual TLS); empty: no client certificate is asked for.
    clientcas: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """Where the server listens; `addr` is kept as written for messages."""

    addr: str = DEFAULT_ADDR
    host: str = "127.0.0.1"
    port: int = 5000
    tls: TlsConfig | None = None
    # Key of the HMAC that signs upload URLs' `_state`; replicas behind one balancer share it.
    secret: str | None = field(default=None, repr=False)
    # Slow clients (ours, not Distribution's): seconds to send the request head, and the
    # longest silence within a request body (svckit.httpserver).
    header_timeout: float = 30.0
    body_timeout: float = 60.0
    # Distribution's http.debug.addr: a second listener for /metrics (when prometheus is on).
    debug_host: str | None = None
    debug_port: int | None = None
    prometheus: bool = False
    prometheus_path: str = "/metrics"
    # Worker processes sharing http.addr (ours; Distribution is one Go process).
    workers: int = 1


@dataclass(frozen=True, slots=True)
class UploadPurgingConfig:
    """Background removal of abandoned uploads (Distribution's defaults: 168h age, 24h interval)."""

    enabled: bool = True
    age: float = 168 * 3600.0
    interval: float = 24 * 3600.0
    dryrun: bool = False


# Distribution has no such limit; ours keeps one runaway upload from filling the disk.
DEFAULT_MAX_BLOB_SIZE = 64 << 30


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """The filesystem storage root and the maintenance switches."""

    rootdirectory: Path = Path("data/registry")
    delete_enabled: bool = False
    readonly: bool = False
    uploadpurging: UploadPurgingConfig = field(default_factory=UploadPurgingConfig)
    max_blob_size: int | None = DEFAULT_MAX_BLOB_SIZE


@dataclass(frozen=True, slots=True)
class AuthTokenConfig:
    """Bearer-token auth: the challenge's realm/service, the expected issuer and trusted certs."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path | None
    # Distribution 3: keys by kid from a JWK Set file, instead of or beside the bundle.
    jwks: Path | None = None


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    """Limits on pushed manifests (ours; Distribution's ``validation`` section has no such key)."""

    # Distinct blobs and manifests one manifest may reference; real images have tens.
    max_references: int = 1000


@dataclass(frozen=True, slots=True)
class Config:
    """The whole registry configuration."""

    version: str = "0.1"
    log: LogConfig = field(default_factory=LogConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    auth: AuthTokenConfig | None = None
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    # Dotted paths present in the file that are accepted but have no effect (logged at startup).
    ignored: tuple[str, ...] = ()


# Sections Distribution knows that this registry accepts and ignores (documented in CONFIG.md).
IGNORED_SECTIONS = frozenset(
    {
        "log.fields",
        "http.headers",
        "http.debug.pprof",
        "http.relativeurls",
        "http.host",
        "storage.cache",
        "storage.filesystem.maxthreads",
        "health",
    }
)


# --- converters: (raw value, dotted path) -> typed value ----------------------------------


_Converter = Callable[[object, str], object]

# Every implemented leaf key.  The environment variable of each is derived from its path.
LEAVES: dict[str, _Converter] = {
    "version": as_version,
    "log.level": as_level,
    "log.accesslog.disabled": as_bool,
    "log.formatter": as_formatter,
    "http.addr": as_str,
    "http.debug.addr": as_str,
    "http.debug.prometheus.enabled": as_bool,
    "http.debug.prometheus.path": as_metrics_path,
    "http.workers": as_positive_int,
    "http.tls.certificate": as_str,
    "http.tls.key": as_str,
    "http.tls.clientcas": as_path_list,
    "http.secret": as_str,
    "http.timeouts.header": parse_duration,
    "http.timeouts.body": parse_duration,
    "storage.filesystem.rootdirectory": as_str,
    "storage.delete.enabled": as_bool,
    "storage.maintenance.readonly.enabled": as_bool,
    "storage.maintenance.uploadpurging.enabled": as_bool,
    "storage.maintenance.uploadpurging.age": parse_duration,
    "storage.maintenance.uploadpurging.interval": parse_duration,
    "storage.maintenance.uploadpurging.dryrun": as_bool,
    "storage.maxblobsize": as_size,
    "auth.token.realm": as_str,
    "auth.token.service": as_str,
    "auth.token.issuer": as_str,
    "auth.token.rootcertbundle": as_str,
    "auth.token.jwks": as_str,
    "validation.manifests.maxreferences": as_positive_int,
}

_SECTIONS = frozenset(
    ".".join(parts[:i]) for parts in (p.split(".") for p in LEAVES) for i in range(1, len(parts))
)


def env_name(path: str) -> str:
    """Distribution's environment variable for a dotted key: REGISTRY_ + upper-cased path."""
    return "REGISTRY_" + path.upper().replace(".", "_")


def _flatten(
    node: object, prefix: str, values: dict[str, object], unknown: list[str], ignored: list[str]
) -> None:
    """Collect known leaves of a YAML tree; record unknown and ignored dotted paths."""
    if node is None:
        return  # `delete:` with no value, as Distribution allows
    if not isinstance(node, Mapping):
        raise ConfigError(f"{prefix or 'configuration'}: expected a mapping")
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if path in LEAVES:
            if isinstance(child, Mapping | list):
                raise ConfigError(f"{path}: expected a single value")
            values[path] = child
        elif path in IGNORED_SECTIONS:
            ignored.append(path)
        elif path in _SECTIONS:
            _flatten(child, path, values, unknown, ignored)
        else:
            unknown.append(path)


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None


def _existing_file(value: str, path: str) -> Path:
    file = Path(value)
    if not file.is_file():
        raise ConfigError(f"{path}: file {value} does not exist")
    return file


def _build_auth(values: Mapping[str, object]) -> AuthTokenConfig | None:
    keys = ("realm", "service", "issuer", "rootcertbundle", "jwks")
    given = {k: values[f"auth.token.{k}"] for k in keys if f"auth.token.{k}" in values}
    if not given:
        return None
    missing = [f"auth.token.{k}" for k in keys[:3] if k not in given]
    if "rootcertbundle" not in given and "jwks" not in given:
        missing.append("auth.token.rootcertbundle (or auth.token.jwks)")
    if missing:
        raise ConfigError(f"{', '.join(missing)}: required when auth.token is configured")
    bundle, jwks = given.get("rootcertbundle"), given.get("jwks")
    return AuthTokenConfig(
        realm=str(given["realm"]),
        service=str(given["service"]),
        issuer=str(given["issuer"]),
        rootcertbundle=_existing_file(str(bundle), "auth.token.rootcertbundle") if bundle else None,
        jwks=_existing_file(str(jwks), "auth.token.jwks") if jwks else None,
    )


def _build_tls(values: Mapping[str, object]) -> TlsConfig | None:
    cert, key = values.get("http.tls.certificate"), values.get("http.tls.key")
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("http.tls.certificate, http.tls.key: both are required for TLS")
    cas = values.get("http.tls.clientcas", ())
    assert isinstance(cas, tuple)
    return TlsConfig(
        certificate=_existing_file(str(cert), "http.tls.certificate"),
        key=_existing_file(str(key), "http.tls.key"),
        clientcas=tuple(_existing_file(str(ca), "http.tls.clientcas") for ca in cas),
    )


def load_config(path: str | Path | None = None, environ: Mapping[str, str] = os.environ) -> Config:
    """Read config.yml (optional), apply REGISTRY_* overrides, validate and build the tree."""
    raw: dict[str, object] = {}
    unknown: list[str] = []
    ignored: list[str] = []
    notifications: object = None
    if path is not None:
        document = _read_file(Path(path))
        if isinstance(document, Mapping) and "notifications" in document:
            # A list of endpoint mappings: parsed by registry/config_notifications.py.
            notifications = document["notifications"]
            document = {k: v for k, v in document.items() if k != "notifications"}
        _flatten(document, "", raw, unknown, ignored)
        if unknown:
            raise ConfigError(
                f"unknown configuration key(s): {', '.join(sorted(unknown))} "
                "(the implemented keys are listed in registry/CONFIG.md)"
            )
        if "version" not in raw:
            raise ConfigError("version: required (Distribution's configuration version, 0.1)")
    for leaf in LEAVES:
        if (value := environ.get(env_name(leaf))) is not None:
            raw[leaf] = value
    values = {leaf: LEAVES[leaf](value, leaf) for leaf, value in raw.items()}

    addr = str(values.get("http.addr", DEFAULT_ADDR))
    host, port = parse_addr(addr)
    debug_host: str | None = None
    debug_port: int | None = None
    if "http.debug.addr" in values:
        debug_host, debug_port = parse_addr(str(values["http.debug.addr"]), "http.debug.addr")
    purging = UploadPurgingConfig(
        enabled=bool(values.get("storage.maintenance.uploadpurging.enabled", True)),
        age=float(str(values.get("storage.maintenance.uploadpurging.age", 168 * 3600.0))),
        interval=float(str(values.get("storage.maintenance.uploadpurging.interval", 24 * 3600.0))),
        dryrun=bool(values.get("storage.maintenance.uploadpurging.dryrun", False)),
    )
    max_blob = int(str(values.get("storage.maxblobsize", DEFAULT_MAX_BLOB_SIZE)))
    storage = StorageConfig(
        rootdirectory=Path(str(values.get("storage.filesystem.rootdirectory", "data/registry"))),
        delete_enabled=bool(values.get("storage.delete.enabled", False)),
        readonly=bool(values.get("storage.maintenance.readonly.enabled", False)),
        uploadpurging=purging,
        max_blob_size=max_blob or None,
    )
    return Config(
        version=str(values.get("version", "0.1")),
        log=LogConfig(
            level=str(values.get("log.level", "info")),
            accesslog=not values.get("log.accesslog.disabled", False),
            formatter=str(values.get("log.formatter", "text")),
        ),
        http=HttpConfig(
            addr=addr,
            host=host,
            port=port,
            tls=_build_tls(values),
            secret=str(values["http.secret"]) if "http.secret" in values else None,
            header_timeout=float(str(values.get("http.timeouts.header", 30.0))),
            body_timeout=float(str(values.get("http.timeouts.body", 60.0))),
            debug_host=debug_host,
            debug_port=debug_port,
            prometheus=bool(values.get("http.debug.prometheus.enabled", False)),
            prometheus_path=str(values.get("http.debug.prometheus.path", "/metrics")),
            workers=int(str(values.get("http.workers", 1))),
        ),
        storage=storage,
        auth=_build_auth(values),
        validation=ValidationConfig(
            max_references=int(str(values.get("validation.manifests.maxreferences", 1000)))
        ),
        notifications=parse_notifications(notifications, environ),
        ignored=tuple(sorted(ignored)),
    )
