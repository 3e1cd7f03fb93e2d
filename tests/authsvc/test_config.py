"""Settings: defaults, AUTHSVC_* overrides, YAML, validation messages and redaction (tables)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authsvc.config import (
    _SETTINGS,
    AuthConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    ServerConfig,
    load_config,
    normalize_database_url,
    setting_fields,
)


def test_defaults_are_the_documented_ones() -> None:
    config = load_config(None, {})
    assert config == Config()
    assert (config.server.host, config.server.port) == ("127.0.0.1", 5001)
    assert config.database.url == "sqlite+aiosqlite:///data/authsvc.db"
    assert config.token.issuer == "authsvc"
    assert config.token.services == ("registry",)
    assert config.token.ttl == 300
    assert config.token.refresh_ttl == 90 * 24 * 3600
    assert config.token.signing_key == Path("certs/token.key")
    assert config.token.signing_cert == Path("certs/token.crt")
    assert config.auth == AuthConfig(authenticators=("local",))


Getter = Callable[[Config], Any]

ENV_CASES: list[tuple[dict[str, str], Getter, Any]] = [
    (
        {"AUTHSVC_LISTEN": "0.0.0.0:8080"},
        lambda c: (c.server.host, c.server.port),
        ("0.0.0.0", 8080),
    ),
    ({"AUTHSVC_LISTEN": "[::1]:5001"}, lambda c: c.server.host, "::1"),
    ({"AUTHSVC_LISTEN": ":5002"}, lambda c: (c.server.host, c.server.port), ("0.0.0.0", 5002)),
    ({"AUTHSVC_REALM": "corp"}, lambda c: c.server.realm, "corp"),
    ({}, lambda c: c.server.access_log, True),
    ({"AUTHSVC_ACCESS_LOG": "off"}, lambda c: c.server.access_log, False),
    # Empty is false, as in Distribution (svckit.settings.parse_bool).
    ({"AUTHSVC_ACCESS_LOG": ""}, lambda c: c.server.access_log, False),
    (
        {"AUTHSVC_LISTEN": ":1", "AUTHSVC_ACCESS_LOG": "0"},
        lambda c: c.server,
        ServerConfig("0.0.0.0", 1, "authsvc", False),
    ),
    (
        {"AUTHSVC_DATABASE_URL": "sqlite:///x.db"},
        lambda c: c.database.url,
        "sqlite+aiosqlite:///x.db",
    ),
    (
        {"AUTHSVC_DATABASE_URL": "postgresql://u@h/db"},
        lambda c: c.database.url,
        "postgresql+asyncpg://u@h/db",
    ),
    ({"AUTHSVC_DATABASE_POOL_SIZE": "3"}, lambda c: c.database.pool_size, 3),
    ({"AUTHSVC_DATABASE_ECHO": "yes"}, lambda c: c.database.echo, True),
    ({"AUTHSVC_DATABASE_ECHO": "0"}, lambda c: c.database.echo, False),
    ({"AUTHSVC_ISSUER": "me"}, lambda c: c.token.issuer, "me"),
    ({"AUTHSVC_SERVICE": "a, b,,c"}, lambda c: c.token.services, ("a", "b", "c")),
    ({"AUTHSVC_TOKEN_TTL": " 60 "}, lambda c: c.token.ttl, 60),
    ({"AUTHSVC_TOKEN_TTL": "5m"}, lambda c: c.token.ttl, 300),
    ({"AUTHSVC_REFRESH_TOKEN_TTL": "3600"}, lambda c: c.token.refresh_ttl, 3600),
    ({"AUTHSVC_REFRESH_TOKEN_TTL": "30d"}, lambda c: c.token.refresh_ttl, 30 * 86400),
    ({"AUTHSVC_SIGNING_KEY": "/k/key.pem"}, lambda c: c.token.signing_key, Path("/k/key.pem")),
    ({"AUTHSVC_SIGNING_CERT": "c.pem"}, lambda c: c.token.signing_cert, Path("c.pem")),
    ({"AUTHSVC_ARGON2_MEMORY_COST": "1024"}, lambda c: c.passwords.argon2_memory_cost, 1024),
    ({"AUTHSVC_ARGON2_TIME_COST": "3"}, lambda c: c.passwords.argon2_time_cost, 3),
    ({"AUTHSVC_ARGON2_PARALLELISM": "2"}, lambda c: c.passwords.argon2_parallelism, 2),
    ({"AUTHSVC_CREDENTIAL_CACHE_TTL": "0"}, lambda c: c.passwords.credential_cache_ttl, 0),
    ({"AUTHSVC_CREDENTIAL_CACHE_TTL": "2m"}, lambda c: c.passwords.credential_cache_ttl, 120),
    ({"AUTHSVC_VERIFY_THREADS": "4"}, lambda c: c.passwords.verify_threads, 4),
    ({"AUTHSVC_AUTHENTICATORS": "local"}, lambda c: c.auth.authenticators, ("local",)),
    ({"AUTHSVC_AUTHENTICATORS": " local , "}, lambda c: c.auth.authenticators, ("local",)),
]


@pytest.mark.parametrize(("env", "get", "expected"), ENV_CASES)
def test_environment_overrides(env: dict[str, str], get: Getter, expected: Any) -> None:
    assert get(load_config(None, env)) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTHSVC_LISTEN": "nope"}, "AUTHSVC_LISTEN: expected host:port"),
        ({"AUTHSVC_LISTEN": "h:70000"}, "AUTHSVC_LISTEN: port 70000 is out of range"),
        ({"AUTHSVC_LISTEN": "h:http"}, "AUTHSVC_LISTEN: expected host:port"),
        ({"AUTHSVC_LISTEN": "::1:5001"}, "AUTHSVC_LISTEN: write an IPv6 address in brackets"),
        ({"AUTHSVC_TOKEN_TTL": "59"}, "AUTHSVC_TOKEN_TTL: must be at least 60"),
        ({"AUTHSVC_TOKEN_TTL": "abc"}, "AUTHSVC_TOKEN_TTL: expected a duration"),
        ({"AUTHSVC_TOKEN_TTL": "90.5"}, "AUTHSVC_TOKEN_TTL: must be a whole number of seconds"),
        ({"AUTHSVC_TOKEN_TTL": "59s"}, "AUTHSVC_TOKEN_TTL: must be at least 60"),
        ({"AUTHSVC_REFRESH_TOKEN_TTL": "1"}, "AUTHSVC_REFRESH_TOKEN_TTL: must be at least 60"),
        ({"AUTHSVC_DATABASE_ECHO": "maybe"}, "AUTHSVC_DATABASE_ECHO: expected true or false"),
        ({"AUTHSVC_ACCESS_LOG": "loud"}, "AUTHSVC_ACCESS_LOG: expected true or false"),
        ({"AUTHSVC_DATABASE_POOL_SIZE": "x"}, "AUTHSVC_DATABASE_POOL_SIZE: expected an integer"),
        ({"AUTHSVC_DATABASE_POOL_SIZE": "0"}, "AUTHSVC_DATABASE_POOL_SIZE: must be at least 1"),
        ({"AUTHSVC_SERVICE": " , "}, "AUTHSVC_SERVICE: at least one service name"),
        ({"AUTHSVC_ISSUER": ""}, "AUTHSVC_ISSUER: expected a non-empty string"),
        ({"AUTHSVC_ARGON2_MEMORY_COST": "4"}, "AUTHSVC_ARGON2_MEMORY_COST: must be at least 8"),
        (
            {"AUTHSVC_AUTHENTICATORS": "local,kerberos"},
            "AUTHSVC_AUTHENTICATORS: unknown authenticator 'kerberos' \\(known: local, ldap\\)",
        ),
        (
            {"AUTHSVC_AUTHENTICATORS": "local,local"},
            "AUTHSVC_AUTHENTICATORS: authenticator 'local' is listed twice",
        ),
        ({"AUTHSVC_AUTHENTICATORS": ","}, "AUTHSVC_AUTHENTICATORS: at least one authenticator"),
        ({"AUTHSVC_CONFIG": "/nonexistent/authsvc.yml"}, "config file /nonexistent/authsvc.yml"),
    ],
)
def test_invalid_environment_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, env)


YAML = """
server:
  listen: 127.0.0.1:6001
  realm: yaml-realm
database:
  url: postgresql://app:hunter2@db/authsvc
token:
  issuer: yaml-issuer
  service: [registry, mirror]
  ttl: 600
passwords:
  argon2_memory_cost: 4096
  credential_cache_ttl: 90s
auth:
  authenticators: [local]
"""


def test_yaml_file_and_environment_precedence(tmp_path: Path) -> None:
    path = tmp_path / "authsvc.yml"
    path.write_text(YAML)
    config = load_config(path, {"AUTHSVC_TOKEN_TTL": "120"})
    assert (config.server.host, config.server.port, config.server.realm) == (
        "127.0.0.1",
        6001,
        "yaml-realm",
    )
    assert config.database.url == "postgresql+asyncpg://app:hunter2@db/authsvc"
    assert config.token.issuer == "yaml-issuer"
    assert config.token.services == ("registry", "mirror")
    assert config.token.ttl == 120  # the environment wins over the file
    assert config.passwords.argon2_memory_cost == 4096
    assert config.passwords.credential_cache_ttl == 90
    assert config.auth.authenticators == ("local",)
    # AUTHSVC_CONFIG names the file when no path is given.
    assert load_config(None, {"AUTHSVC_CONFIG": str(path)}).token.issuer == "yaml-issuer"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("token:\n  ttl: 5\n", "token.ttl: must be at least 60"),
        ("token:\n  bogus: 1\n", "unknown setting\\(s\\): token.bogus"),
        ("server:\n  port: 1\n", "unknown setting\\(s\\): server.port"),
        ("server: [\n", "invalid YAML"),
        ("- a\n- b\n", "the top level must be a mapping"),
        ("token:\n  issuer: [a]\n", "token.issuer: expected a non-empty string"),
        ("database:\n  echo: sometimes\n", "database.echo: expected true or false"),
        ("server:\n  listen: 5001\n", "server.listen: expected host:port"),
        ("token:\n  refresh_ttl: 1h1.5s\n", "token.refresh_ttl: must be a whole number"),
        (
            "auth:\n  authenticators: [local, oidc]\n",
            "auth.authenticators: unknown authenticator 'oidc'",
        ),
        (
            "auth:\n  authenticators: [local, local]\n",
            "auth.authenticators: authenticator 'local' is listed twice",
        ),
        ("auth:\n  authenticators: []\n", "auth.authenticators: at least one authenticator"),
    ],
)
def test_invalid_yaml_names_the_setting(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, {})


def test_empty_yaml_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    assert load_config(path, {}) == Config()


def test_database_password_never_appears_in_reprs() -> None:
    config = load_config(None, {"AUTHSVC_DATABASE_URL": "postgresql://u:hunter2@h/db"})
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config.database)
    assert config.database.redacted_url == "postgresql+asyncpg://u:***@h/db"
    assert "hunter2" in config.database.url  # still usable
    assert DatabaseConfig(url="not a url:hunter2@").redacted_url == "(not a valid URL)"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/a.db", "sqlite+aiosqlite:///data/a.db"),
        ("sqlite:////abs/a.db", "sqlite+aiosqlite:////abs/a.db"),
        ("sqlite+aiosqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_normalize_database_url(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected
    assert DatabaseConfig(url=expected).url == expected


def test_every_setting_fills_fields_and_every_field_has_a_setting() -> None:
    # Adding a setting is one _SETTINGS line plus one dataclass field: this keeps the two in step.
    defaults = Config()
    sections = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(Config)}
    filled: set[tuple[str, str]] = set()
    for dotted in _SETTINGS:
        section, fields = setting_fields(dotted)
        names = {f.name for f in dataclasses.fields(sections[section])}
        assert set(fields) <= names, dotted
        filled.update((section, name) for name in fields)
    every = {(s, f.name) for s, obj in sections.items() for f in dataclasses.fields(obj)}
    assert filled == every
    assert len({setting.env for setting in _SETTINGS.values()}) == len(_SETTINGS)


def test_listen_fills_host_and_port_from_yaml_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "listen.yml"
    path.write_text("server:\n  listen: '[::1]:6000'\n")
    assert load_config(path, {}).server == ServerConfig(host="::1", port=6000)
    env = {"AUTHSVC_LISTEN": ":7000"}
    assert load_config(path, env).server == ServerConfig(host="0.0.0.0", port=7000)
