"""authsvc settings: a frozen dataclass tree from YAML plus ``AUTHSVC_*`` env overrides."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting's dotted path."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the HTTP server listens and the Basic realm it announces."""

    host: str = "127.0.0.1"
    port: int = 5001
    realm: str = "authsvc"
    access_log: bool = True


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """The SQL store. The URL may embed a password, so it never appears in a repr."""

    url: str = field(default="sqlite+aiosqlite:///data/authsvc.db", repr=False)
    pool_size: int = 10
    echo: bool = False

    @property
    def redacted_url(self) -> str:
        """The URL with any password replaced by ``***``, fit for logs."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """What the token endpoint issues: issuer, audiences, lifetimes and the signing key."""

    issuer: str = "authsvc"
    services: tuple[str, ...] = ("registry",)
    ttl: int = 300
    refresh_ttl: int = 90 * 24 * 3600
    signing_key: Path = Path("certs/token.key")
    signing_cert: Path = Path("certs/token.crt")


@dataclass(frozen=True, slots=True)
class PasswordConfig:
    """argon2id cost parameters and the verified-credential cache lifetime.

    The defaults follow OWASP's Password Storage Cheat Sheet minimum for argon2id
    (m=19 MiB, t=2, p=1) rather than passlib's much heavier defaults (64 MiB, t=3, p=4),
    which cost ~150 ms of CPU per login on this class of machine.
    """

    argon2_memory_cost: int = 19456  # KiB
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    credential_cache_ttl: int = 60  # seconds; 0 disables the cache
    verify_threads: int = 2


@dataclass(frozen=True, slots=True)
class Config:
    """The whole authsvc configuration."""

    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    token: TokenConfig = field(default_factory=TokenConfig)
    passwords: PasswordConfig = field(default_factory=PasswordConfig)


def normalize_database_url(url: str) -> str:
    """Map plain ``sqlite://`` and ``postgresql://`` URLs to their async drivers (CONTRACT)."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _parse_listen(value: str, path: str) -> tuple[str, int]:
    host, sep, port_s = value.rpartition(":")
    if not sep or not port_s.isdigit():
        raise ConfigError(f"{path}: expected host:port, got {value!r}")
    port = int(port_s)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{path}: port {port} is out of range")
    return host.strip("[]") or "0.0.0.0", port


def _as_int(value: object, path: str, minimum: int | None = None) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    try:
        result = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ConfigError(f"{path}: expected an integer, got {value!r}") from None
    if minimum is not None and result < minimum:
        raise ConfigError(f"{path}: must be at least {minimum}, got {result}")
    return result


def _as_bool(value: object, path: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{path}: expected a boolean, got {value!r}")


def _as_services(value: object, path: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    services = tuple(str(s).strip() for s in items if str(s).strip())
    if not services:
        raise ConfigError(f"{path}: at least one service name is required")
    return services


def _as_str(value: object, path: str) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise ConfigError(f"{path}: expected a non-empty string")
    return str(value)


# Each setting: dotted YAML path -> (environment variable, converter). The environment wins.
_Converter = Callable[[object, str], object]
_SETTINGS: dict[str, tuple[str, _Converter]] = {
    "server.listen": ("AUTHSVC_LISTEN", lambda v, p: _parse_listen(str(v), p)),
    "server.realm": ("AUTHSVC_REALM", _as_str),
    "server.access_log": ("AUTHSVC_ACCESS_LOG", _as_bool),
    "database.url": ("AUTHSVC_DATABASE_URL", lambda v, p: normalize_database_url(_as_str(v, p))),
    "database.pool_size": ("AUTHSVC_DATABASE_POOL_SIZE", lambda v, p: _as_int(v, p, 1)),
    "database.echo": ("AUTHSVC_DATABASE_ECHO", _as_bool),
    "token.issuer": ("AUTHSVC_ISSUER", _as_str),
    "token.service": ("AUTHSVC_SERVICE", _as_services),
    "token.ttl": ("AUTHSVC_TOKEN_TTL", lambda v, p: _as_int(v, p, 60)),
    "token.refresh_ttl": ("AUTHSVC_REFRESH_TOKEN_TTL", lambda v, p: _as_int(v, p, 60)),
    "token.signing_key": ("AUTHSVC_SIGNING_KEY", lambda v, p: Path(_as_str(v, p))),
    "token.signing_cert": ("AUTHSVC_SIGNING_CERT", lambda v, p: Path(_as_str(v, p))),
    "passwords.argon2_memory_cost": ("AUTHSVC_ARGON2_MEMORY_COST", lambda v, p: _as_int(v, p, 8)),
    "passwords.argon2_time_cost": ("AUTHSVC_ARGON2_TIME_COST", lambda v, p: _as_int(v, p, 1)),
    "passwords.argon2_parallelism": ("AUTHSVC_ARGON2_PARALLELISM", lambda v, p: _as_int(v, p, 1)),
    "passwords.credential_cache_ttl": (
        "AUTHSVC_CREDENTIAL_CACHE_TTL",
        lambda v, p: _as_int(v, p, 0),
    ),
    "passwords.verify_threads": ("AUTHSVC_VERIFY_THREADS", lambda v, p: _as_int(v, p, 1)),
}


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in doc.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: invalid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping")
    flat = _flatten(doc)
    unknown = sorted(k for k in flat if k not in _SETTINGS)
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return flat


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load settings from the YAML file (``path`` or ``AUTHSVC_CONFIG``) and the environment."""
    env = os.environ if environ is None else environ
    if path is None and env.get("AUTHSVC_CONFIG"):
        path = env["AUTHSVC_CONFIG"]
    raw: dict[str, object] = _read_yaml(Path(path)) if path is not None else {}
    values: dict[str, object] = {}
    for dotted, (var, convert) in _SETTINGS.items():
        if var in env:
            values[dotted] = convert(env[var], var)
        elif dotted in raw:
            values[dotted] = convert(raw[dotted], dotted)

    server = ServerConfig()
    if "server.listen" in values:
        listen = values["server.listen"]
        assert isinstance(listen, tuple)
        server = dataclasses.replace(server, host=str(listen[0]), port=int(listen[1]))
    if "server.realm" in values:
        server = dataclasses.replace(server, realm=str(values["server.realm"]))
    if "server.access_log" in values:
        server = dataclasses.replace(server, access_log=bool(values["server.access_log"]))

    def pick(section: str, cls: type[Any], renames: Mapping[str, str] | None = None) -> Any:
        kwargs: dict[str, object] = {}
        for dotted, value in values.items():
            sec, _, name = dotted.partition(".")
            if sec == section:
                kwargs[(renames or {}).get(name, name)] = value
        return cls(**kwargs)

    return Config(
        server=server,
        database=pick("database", DatabaseConfig),
        token=pick("token", TokenConfig, {"service": "services"}),
        passwords=pick("passwords", PasswordConfig),
    )
