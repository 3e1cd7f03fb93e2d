"""Table tests for registry.config: Distribution's config.yml subset and REGISTRY_* overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from registry.config import (
    LEAVES,
    AuthTokenConfig,
    Config,
    ConfigError,
    env_name,
    load_config,
    parse_addr,
    parse_duration,
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_defaults_without_file_are_the_documented_ones() -> None:
    config = load_config(None, {})
    assert config.http.addr == "127.0.0.1:5000"
    assert (config.http.host, config.http.port) == ("127.0.0.1", 5000)
    assert config.storage.rootdirectory == Path("data/registry")
    assert config.storage.delete_enabled is False
    assert config.storage.readonly is False
    assert config.storage.uploadpurging.enabled is True
    assert config.storage.uploadpurging.age == 168 * 3600
    assert config.storage.uploadpurging.interval == 24 * 3600
    assert config.auth is None
    assert config.http.tls is None
    assert config.log.level == "info"
    assert config == Config()


def test_full_distribution_file(tmp_path: Path) -> None:
    bundle = tmp_path / "root.crt"
    bundle.write_text("cert")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text("c")
    key.write_text("k")
    path = write(
        tmp_path,
        f"""
version: 0.1
log:
  level: debug
  fields:
    service: registry
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {tmp_path}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: true
      age: 72h
      interval: 1h30m
      dryrun: true
    readonly:
      enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
  tls:
    certificate: {cert}
    key: {key}
auth:
  token:
    realm: https://auth.example.com/token
    service: registry.example.com
    issuer: authsvc
    rootcertbundle: {bundle}
health:
  storagedriver:
    enabled: true
""",
    )
    config = load_config(path, {})
    assert config.log.level == "debug"
    assert config.log.accesslog is False
    assert config.storage.rootdirectory == tmp_path / "data"
    assert config.storage.delete_enabled is True
    assert config.storage.readonly is True
    assert config.storage.uploadpurging.age == 72 * 3600
    assert config.storage.uploadpurging.interval == 5400
    assert config.storage.uploadpurging.dryrun is True
    assert (config.http.host, config.http.port) == ("0.0.0.0", 5000)
    assert config.http.tls is not None and config.http.tls.certificate == cert
    assert config.auth == AuthTokenConfig(
        realm="https://auth.example.com/token",
        service="registry.example.com",
        issuer="authsvc",
        rootcertbundle=bundle,
    )
    assert config.ignored == ("health", "http.headers", "log.fields", "storage.cache")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("x")
    path = write(
        tmp_path,
        "version: 0.1\nhttp:\n  addr: 127.0.0.1:6000\nstorage:\n  delete:\n    enabled: true\n",
    )
    env = {
        "REGISTRY_HTTP_ADDR": "0.0.0.0:7000",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/srv/registry",
        "REGISTRY_STORAGE_DELETE_ENABLED": "false",
        "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED": "true",
        "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE": "10m",
        "REGISTRY_AUTH_TOKEN_REALM": "http://127.0.0.1:5001/auth",
        "REGISTRY_AUTH_TOKEN_SERVICE": "registry",
        "REGISTRY_AUTH_TOKEN_ISSUER": "authsvc",
        "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(bundle),
        "REGISTRY_LOG_LEVEL": "warn",
        "REGISTRY_SOMETHING_UNKNOWN": "ignored",
    }
    config = load_config(path, env)
    assert (config.http.host, config.http.port) == ("0.0.0.0", 7000)
    assert config.storage.rootdirectory == Path("/srv/registry")
    assert config.storage.delete_enabled is False
    assert config.storage.readonly is True
    assert config.storage.uploadpurging.age == 600
    assert config.auth is not None and config.auth.rootcertbundle == bundle
    assert config.log.level == "warn"


def test_every_key_has_distributions_variable_name() -> None:
    names = {env_name(leaf) for leaf in LEAVES}
    assert {
        "REGISTRY_HTTP_ADDR",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY",
        "REGISTRY_STORAGE_DELETE_ENABLED",
        "REGISTRY_AUTH_TOKEN_REALM",
        "REGISTRY_AUTH_TOKEN_SERVICE",
        "REGISTRY_AUTH_TOKEN_ISSUER",
        "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE",
        "REGISTRY_HTTP_TLS_CERTIFICATE",
        "REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED",
    } <= names


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("version: 0.1\nstorage:\n  swift:\n    container: x\n", {}, "storage.swift"),
        ("version: 0.1\nstorage:\n  s3:\n    bucket: x\n", {}, "storage.s3.region: required"),
        (
            "version: 0.1\nstorage:\n  s3:\n    bucket: x\n    region: r\n    encrypt: true\n",
            {},
            "storage.s3.encrypt",
        ),
        (
            "version: 0.1\nstorage:\n  s3:\n    bucket: x\n    region: r\n    chunksize: 1024\n",
            {},
            "storage.s3.chunksize: must be at least 5242880",
        ),
        (
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /x\n",
            {"REGISTRY_STORAGE_S3_BUCKET": "b", "REGISTRY_STORAGE_S3_REGION": "r"},
            "configure one driver",
        ),
        ("version: 0.1\nauth:\n  htpasswd:\n    realm: x\n", {}, "auth.htpasswd"),
        ("version: 0.1\nhttp:\n  adr: :5000\n", {}, "http.adr"),
        ("version: 0.1\nfoo: 1\nbar:\n  baz: 2\n", {}, "bar, foo"),
        ("log:\n  level: info\n", {}, "version: required"),
        ("version: 0.2\n", {}, "only version 0.1"),
        ("version: 0.1\nlog:\n  level: loud\n", {}, "log.level"),
        ("version: 0.1\nhttp:\n  addr: nowhere\n", {}, "http.addr"),
        ("version: 0.1\nhttp:\n  addr: 1.2.3.4:99999\n", {}, "out of range"),
        ("version: 0.1\nstorage:\n  delete:\n    enabled: maybe\n", {}, "storage.delete.enabled"),
        (
            "version: 0.1\nstorage:\n  maintenance:\n    uploadpurging:\n      age: soon\n",
            {},
            "storage.maintenance.uploadpurging.age",
        ),
        ("version: 0.1\nauth:\n  token:\n    realm: http://x\n", {}, "auth.token.service"),
        (
            "version: 0.1\n",
            {
                "REGISTRY_AUTH_TOKEN_REALM": "r",
                "REGISTRY_AUTH_TOKEN_SERVICE": "s",
                "REGISTRY_AUTH_TOKEN_ISSUER": "i",
                "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": "/does/not/exist.pem",
            },
            "auth.token.rootcertbundle",
        ),
        ("version: 0.1\nhttp:\n  tls:\n    certificate: /x.crt\n", {}, "http.tls"),
        ("version: 0.1\nhttp:\n  addr: [1, 2]\n", {}, "http.addr"),
        ("- a\n- b\n", {}, "expected a mapping"),
        ("version: 0.1\nhttp: [\n", {}, "invalid YAML"),
    ],
)
def test_invalid_configurations_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_config(write(tmp_path, text), env)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yml", {})


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: '0.1'\nstorage:\n  delete:\n  cache:\n"), {})
    assert config.storage.delete_enabled is False


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("168h", 604800),
        ("1h30m", 5400),
        ("90s", 90),
        ("500ms", 0.5),
        ("1.5h", 5400),
        (42, 42),
        ("10", 10),
    ],
)
def test_parse_duration(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "h", "10 minutes", "-5s", "0s", True])
def test_parse_duration_rejects(value: Any) -> None:
    with pytest.raises(ConfigError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1:5000", ("127.0.0.1", 5000)),
        (":5000", ("0.0.0.0", 5000)),
        ("[::1]:5000", ("::1", 5000)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_addr(addr: str, expected: tuple[str, int]) -> None:
    assert parse_addr(addr) == expected


def test_max_blob_size_extension(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "version: 0.1\nstorage:\n  maxblobsize: 1024\n"), {})
    assert config.storage.max_blob_size == 1024
    unlimited = load_config(None, {"REGISTRY_STORAGE_MAXBLOBSIZE": "0"})
    assert unlimited.storage.max_blob_size is None


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [("", False), ("t", True), ("F", False), ("yes", True), ("off", False), ("TRUE", True)],
)
def test_booleans_read_like_authsvc(raw: str, enabled: bool) -> None:
    config = load_config(None, {"REGISTRY_STORAGE_DELETE_ENABLED": raw})
    assert config.storage.delete_enabled is enabled


def test_durations_accept_days() -> None:
    config = load_config(None, {"REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE": "2d"})
    assert config.storage.uploadpurging.age == 2 * 86400


@pytest.mark.parametrize("addr", ["::1:5000", "[::1:5000", "host:port", ""])
def test_parse_addr_rejects(addr: str) -> None:
    with pytest.raises(ConfigError, match=r"^http\.addr: "):
        parse_addr(addr)


def test_http_secret_from_file_or_environment_and_never_in_repr(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 0.1\nhttp:\n  secret: from-the-file\n")
    assert load_config(path, {}).http.secret == "from-the-file"
    config = load_config(path, {"REGISTRY_HTTP_SECRET": "from-the-env"})
    assert config.http.secret == "from-the-env"
    assert "from-the-env" not in repr(config)
    assert load_config(None, {}).http.secret is None


def test_s3_section_as_distribution_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\n"
        "storage:\n"
        "  s3:\n"
        "    region: eu-west-1\n"
        "    regionendpoint: http://127.0.0.1:9000\n"
        "    bucket: images\n"
        "    accesskey: AKIDEXAMPLE\n"
        "    secretkey: wJalrXUtnFEMI\n"
        "    rootdirectory: /s3/prefix\n"
        "    secure: false\n"
        "    chunksize: 5242880\n"
        "    multipartcopychunksize: 33554432\n"
        "    multipartcopymaxconcurrency: 10\n"
        "    multipartcopythresholdsize: 67108864\n"
        "  redirect:\n"
        "    disable: true\n"
    )
    cfg = load_config(path, {"REGISTRY_STORAGE_S3_BUCKET": "from-env"})
    s3 = cfg.storage.s3
    assert s3 is not None
    assert (s3.region, s3.bucket, s3.rootdirectory, s3.secure) == (
        "eu-west-1", "from-env", "/s3/prefix", False,
    )  # fmt: skip
    assert (s3.chunksize, s3.multipartcopymaxconcurrency) == (5 << 20, 10)
    assert s3.multipartcopythresholdsize == 64 << 20
    # No forcepathstyle: path-style, since regionendpoint is set (Distribution 2.8's rule).
    assert s3.forcepathstyle is None and s3.path_style
    assert cfg.storage.redirect is False
    assert "wJalrXUtnFEMI" not in repr(cfg)
    assert cfg.storage.describe() == "s3://from-env/s3/prefix"
