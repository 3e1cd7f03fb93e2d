"""The `registry` console script: configuration errors, `gc`, and `serve` as a real process."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from registry.cli import main
from tests.registry.api_support import (
    ClientFactory,
    push_blob,
    push_image,
    registry_config,
    sha256,
)
from tests.support import free_port, wait_for_port

REGISTRY = str(Path(sys.executable).parent / "registry")


def write_config(path: Path, root: Path, extra: str = "") -> Path:
    path.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root}\n{extra}")
    return path


def test_unknown_key_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c.yml", tmp_path, "  swift:\n    container: b\n")
    assert main(["serve", "--config", str(config)], environ={}) == 1
    err = capsys.readouterr().err
    assert "storage.swift" in err and "configuration error" in err


def test_config_path_from_distribution_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.yml", tmp_path, "bogus: 1\n")
    assert main(["gc"], environ={"REGISTRY_CONFIGURATION_PATH": str(config)}) == 1
    assert "bogus" in capsys.readouterr().err


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"], environ={})
    assert info.value.code == 2


async def test_gc_dry_run_then_sweep(
    make_client: ClientFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    client = await make_client(registry_config(root))
    await push_image(client, "repo", "v1", layers=[b"kept"])
    orphan = await push_blob(client, "repo", b"orphan layer")
    await client.close()
    config = str(write_config(tmp_path / "c.yml", root))

    code = await asyncio.to_thread(main, ["gc", "--dry-run", "--config", config], {})
    assert code == 0
    out = capsys.readouterr().out
    assert f"blob eligible for deletion: {orphan}" in out
    assert sha256(b"kept") not in out
    assert any(root.rglob(orphan.split(":")[1]))

    assert await asyncio.to_thread(main, ["garbage-collect", "--config", config], {}) == 0
    assert f"blob deleted: {orphan}" in capsys.readouterr().out
    assert not any(root.rglob(orphan.split(":")[1]))
    assert any(root.rglob(sha256(b"kept").split(":")[1]))


def test_gc_on_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path / "c.yml", tmp_path / "absent")
    assert main(["gc", "--config", str(config)], environ={}) == 1
    assert "does not exist" in capsys.readouterr().err


async def serve_and_get_base(tmp_path: Path, level: str) -> tuple[aiohttp.ClientResponse, str]:
    """Run `registry serve` without auth at a log level, GET /v2/, stop it; return its output."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["REGISTRY_HTTP_ADDR"] = f"127.0.0.1:{port}"
    config = write_config(tmp_path / "c.yml", tmp_path / "root", f"log:\n  level: {level}\n")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [REGISTRY, "serve", "--config", str(config)], env=env, stdout=out, stderr=out
        )
        try:
            await asyncio.to_thread(wait_for_port, port)
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/v2/") as resp,
            ):
                pass
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return resp, log.read_text()


async def test_serve_without_auth_warns_and_serves(tmp_path: Path) -> None:
    resp, text = await serve_and_get_base(tmp_path, "info")
    assert resp.status == 200
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert "without authentication" in text
    assert (tmp_path / "root").is_dir()
    # The access line was batched, and written when the server stopped (SIGTERM).
    assert '"GET /v2/ HTTP/1.1" 200 ' in text, text


async def test_access_log_follows_the_log_level(tmp_path: Path) -> None:
    """At level warn no request lines are written, as with log.accesslog.disabled."""
    resp, text = await serve_and_get_base(tmp_path, "warn")
    assert resp.status == 200
    assert "without authentication" in text
    assert "GET /v2/" not in text


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A localhost certificate and key for HTTPS."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_serve_over_tls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_HTTP_TLS_CERTIFICATE": str(cert),
        "REGISTRY_HTTP_TLS_KEY": str(key),
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "root"),
    }
    with (tmp_path / "serve.log").open("wb") as out:
        proc = subprocess.Popen([REGISTRY, "serve"], env=env, stdout=out, stderr=out)
        try:
            await asyncio.to_thread(wait_for_port, port)
            context = ssl.create_default_context(cafile=str(cert))
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"https://127.0.0.1:{port}/v2/", ssl=context) as resp,
            ):
                assert resp.status == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
