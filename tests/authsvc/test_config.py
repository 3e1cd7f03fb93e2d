"""Settings: defaults, AUTHSVC_* overrides, YAML, validation messages and redaction (tables)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authsvc.config import (
    Config,
    ConfigError,
    DatabaseConfig,
    ServerConfig,
    load_config,
    normalize_database_url,
)


def test_defaults_follow_the_contract() -> None:
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
    ({"AUTHSVC_REFRESH_TOKEN_TTL": "3600"}, lambda c: c.token.refresh_ttl, 3600),
    ({"AUTHSVC_SIGNING_KEY": "/k/key.pem"}, lambda c: c.token.signing_key, Path("/k/key.pem")),
    ({"AUTHSVC_SIGNING_CERT": "c.pem"}, lambda c: c.token.signing_cert, Path("c.pem")),
    ({"AUTHSVC_ARGON2_MEMORY_COST": "1024"}, lambda c: c.passwords.argon2_memory_cost, 1024),
    ({"AUTHSVC_ARGON2_TIME_COST": "3"}, lambda c: c.passwords.argon2_time_cost, 3),
    ({"AUTHSVC_ARGON2_PARALLELISM": "2"}, lambda c: c.passwords.argon2_parallelism, 2),
    ({"AUTHSVC_CREDENTIAL_CACHE_TTL": "0"}, lambda c: c.passwords.credential_cache_ttl, 0),
    ({"AUTHSVC_VERIFY_THREADS": "4"}, lambda c: c.passwords.verify_threads, 4),
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
        ({"AUTHSVC_TOKEN_TTL": "59"}, "AUTHSVC_TOKEN_TTL: must be at least 60"),
        ({"AUTHSVC_TOKEN_TTL": "abc"}, "AUTHSVC_TOKEN_TTL: expected an integer"),
        ({"AUTHSVC_REFRESH_TOKEN_TTL": "1"}, "AUTHSVC_REFRESH_TOKEN_TTL: must be at least 60"),
        ({"AUTHSVC_DATABASE_ECHO": "maybe"}, "AUTHSVC_DATABASE_ECHO: expected a boolean"),
        ({"AUTHSVC_ACCESS_LOG": "loud"}, "AUTHSVC_ACCESS_LOG: expected a boolean"),
        ({"AUTHSVC_DATABASE_POOL_SIZE": "0"}, "AUTHSVC_DATABASE_POOL_SIZE: must be at least 1"),
        ({"AUTHSVC_SERVICE": " , "}, "AUTHSVC_SERVICE: at least one service name"),
        ({"AUTHSVC_ISSUER": ""}, "AUTHSVC_ISSUER: expected a non-empty string"),
        ({"AUTHSVC_ARGON2_MEMORY_COST": "4"}, "AUTHSVC_ARGON2_MEMORY_COST: must be at least 8"),
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
        ("database:\n  echo: sometimes\n", "database.echo: expected a boolean"),
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
