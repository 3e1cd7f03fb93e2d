"""The real ``authsvc`` console script: ``keys generate``/``keys check`` and ``serve``.

``serve`` must refuse to start with a one-line error when the key or certificate is bad, and
otherwise serve on the configured port until SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from authsvc.keys import load_signing_material
from authsvc.libtrust import key_id
from tests.support import free_port, wait_for_port

AUTHSVC = str(Path(sys.executable).parent / "authsvc")
KID_RE = re.compile(r"^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$")


def authsvc(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the console script and capture its output."""
    return subprocess.run(
        [AUTHSVC, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def environment(tmp_path: Path, keys: Path, **extra: str) -> dict[str, str]:
    """Settings for a server on a temp SQLite database and the keys in ``keys``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        AUTHSVC_DATABASE_URL=f"sqlite:///{tmp_path / 'authsvc.db'}",
        AUTHSVC_SIGNING_KEY=str(keys / "token.key"),
        AUTHSVC_SIGNING_CERT=str(keys / "token.crt"),
    )
    env.update(extra)
    return env


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_keys_generate_prints_the_libtrust_id(tmp_path: Path, alg: str) -> None:
    out = tmp_path / "keys"
    result = authsvc("keys", "generate", "--alg", alg, "--out", str(out))
    assert result.returncode == 0, result.stderr
    kid = result.stdout.strip()
    assert KID_RE.match(kid)
    assert stat.S_IMODE((out / "token.key").stat().st_mode) == 0o600
    material = load_signing_material(out / "token.key", out / "token.crt")
    assert material.alg == alg
    assert key_id(material.key.public_key()) == kid
    # `keys check` loads the pair exactly as serve does.
    check = authsvc("keys", "check", env=environment(tmp_path, out))
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == [alg, kid]


def test_keys_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    assert authsvc("keys", "generate", "--out", str(out)).returncode == 0
    before = (out / "token.key").read_bytes()
    result = authsvc("keys", "generate", "--out", str(out))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (out / "token.key").read_bytes() == before
    assert authsvc("keys", "generate", "--out", str(out), "--force").returncode == 0
    assert (out / "token.key").read_bytes() != before


def test_keys_generate_rejects_unknown_algorithm(tmp_path: Path) -> None:
    result = authsvc("keys", "generate", "--alg", "HS256", "--out", str(tmp_path))
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.fixture(scope="module")
def two_pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("pairs")
    for name in ("a", "b"):
        assert authsvc("keys", "generate", "--out", str(base / name)).returncode == 0
    return base / "a", base / "b"


def refuse(env: dict[str, str], expected: str, *, lines: int = 1) -> None:
    result = authsvc("serve", env=env, timeout=30)
    assert result.returncode == 1
    # A one-line error (after `lines - 1` log lines), no traceback.
    assert result.stderr.count("\n") == lines, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("authsvc: error: ")
    assert expected in last, result.stderr


def test_serve_refuses_mismatched_pair(tmp_path: Path, two_pairs: tuple[Path, Path]) -> None:
    a, b = two_pairs
    env = environment(tmp_path, a, AUTHSVC_SIGNING_CERT=str(b / "token.crt"))
    refuse(env, "does not match the certificate")


def test_serve_refuses_unreadable_key(tmp_path: Path, two_pairs: tuple[Path, Path]) -> None:
    env = environment(tmp_path, two_pairs[0], AUTHSVC_SIGNING_KEY=str(tmp_path / "missing.key"))
    refuse(env, "cannot read the signing key")


def test_serve_refuses_unsupported_key(tmp_path: Path, two_pairs: tuple[Path, Path]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = tmp_path / "p384.key"
    key.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = environment(tmp_path, two_pairs[0], AUTHSVC_SIGNING_KEY=str(key))
    refuse(env, "unsupported key type")


def test_serve_refuses_an_unusable_database_url(
    tmp_path: Path, two_pairs: tuple[Path, Path]
) -> None:
    env = environment(tmp_path, two_pairs[0], AUTHSVC_DATABASE_URL="not a url")
    # The start-up line is logged, then creating the engine fails with one line.
    refuse(env, "database.url is not usable: Could not parse", lines=2)


def test_serve_runs_and_stops_on_sigterm(tmp_path: Path, two_pairs: tuple[Path, Path]) -> None:
    port = free_port()
    env = environment(tmp_path, two_pairs[0], AUTHSVC_LISTEN=f"127.0.0.1:{port}")
    assert authsvc("db", "upgrade", env=env).returncode == 0
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([AUTHSVC, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "ready"
        assert body["alg"] == "ES256"
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/auth?service=registry", timeout=10
        ) as resp:
            assert isinstance(json.load(resp)["expires_in"], int)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "starting authsvc on http://127.0.0.1" in text
    assert "Traceback" not in text


def test_serve_reports_a_busy_port(tmp_path: Path, two_pairs: tuple[Path, Path]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = environment(tmp_path, two_pairs[0], AUTHSVC_LISTEN=f"127.0.0.1:{port}")
        # The start-up line is logged, then the bind fails with one line.
        refuse(env, f"cannot listen on 127.0.0.1:{port}", lines=2)
