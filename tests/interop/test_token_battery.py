"""The token battery side by side: Distribution 2.8 (Debian's docker-registry) and ours.

Both registries run as real processes with the same `auth.token` configuration and the same
rootcertbundle (several certificates). Every battery token goes to `GET /v2/` (any valid
token) and `GET /v2/<repo>/tags/list` (needs pull; 404 NAME_UNKNOWN means auth passed). Both
must reach the same decision, with the same challenge error, and it must be the expected one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.registry.auth_tokens import (
    ISSUER,
    REALM,
    REPO,
    SERVICE,
    Pki,
    bearer,
    claims,
    make_token,
)
from tests.registry.token_battery import Case, battery
from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop

PATHS = ("/v2/", f"/v2/{REPO}/tags/list")
# What a decision looks like per registry and path: (accepted, challenge error or "").
Outcome = tuple[bool, str]


@dataclass(frozen=True)
class Server:
    """A running registry process."""

    name: str
    url: str
    log: Path


def write_config(path: Path, root: Path, port: int, bundle: Path) -> Path:
    """Distribution's config.yml format, which `registry serve` reads too."""
    path.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
        "auth:\n  token:\n"
        f"    realm: {REALM}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
        f"    rootcertbundle: {bundle}\n"
    )
    return path


def clean_env() -> dict[str, str]:
    """The environment without REGISTRY_* overrides, which both registries honour."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}


def our_registry() -> str:
    """The console script of this project's registry, next to the running interpreter."""
    path = Path(sys.executable).parent / "registry"
    if not path.exists():
        pytest.fail(f"{path} is missing: install the project (make install)")
    return str(path)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.generate()


@pytest.fixture(scope="module")
def servers(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    """Start Distribution and our registry over separate roots, with the same bundle."""
    tmp = tmp_path_factory.mktemp("battery")
    bundle = pki.write_bundle(tmp / "bundle.pem")
    commands: dict[str, Callable[[Path], list[str]]] = {
        "distribution": lambda cfg: [require_tool("docker-registry"), "serve", str(cfg)],
        "ours": lambda cfg: [our_registry(), "serve", "--config", str(cfg)],
    }
    procs: list[subprocess.Popen[bytes]] = []
    servers: list[Server] = []
    try:
        for name, command in commands.items():
            port = free_port()
            root = tmp / f"{name}-root"
            root.mkdir()
            config = write_config(tmp / f"{name}.yml", root, port, bundle)
            log = tmp / f"{name}.log"
            with log.open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        command(config), stdout=out, stderr=subprocess.STDOUT, env=clean_env()
                    )
                )
            try:
                wait_for_port(port)
            except TimeoutError:
                pytest.fail(f"{name} did not start:\n{log.read_text()[-2000:]}")
            servers.append(Server(name, f"http://127.0.0.1:{port}", log))
        yield servers
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def outcome(http: aiohttp.ClientSession, url: str, authorization: str) -> Outcome:
    """Send one request; accepted = anything but 401 (200 on /v2/, 404 on tags/list)."""
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(url, headers=headers) as resp:
        await resp.read()
        if resp.status != 401:
            assert resp.status in (200, 404), f"{url}: unexpected {resp.status}"
            return True, ""
        challenge = resp.headers.get("WWW-Authenticate", "")
        assert challenge.startswith(f'Bearer realm="{REALM}",service="{SERVICE}"'), challenge
        error = challenge.split(",error=")[1].strip('"') if ",error=" in challenge else ""
        return False, error


async def decisions(
    http: aiohttp.ClientSession, servers: list[Server], case: Case
) -> dict[str, tuple[Outcome, ...]]:
    """Per registry, the outcome on each path."""
    result: dict[str, tuple[Outcome, ...]] = {}
    for server in servers:
        result[server.name] = tuple(
            await asyncio.gather(
                *(outcome(http, server.url + path, case.authorization) for path in PATHS)
            )
        )
    return result


def fmt(outcomes: tuple[Outcome, ...]) -> str:
    return " ".join(("accept" if ok else f"401 {err or '-'}") for ok, err in outcomes)


async def test_battery_same_decisions_as_distribution(
    servers: list[Server], pki: Pki, http: aiohttp.ClientSession
) -> None:
    cases = battery(pki, int(time.time()))
    table: list[str] = []
    mismatches: list[str] = []
    for case in cases:
        got = await decisions(http, servers, case)
        want = ((case.base, case.expected_error(False)), (case.repo, case.expected_error(True)))
        row = f"{case.name:45} | dist: {fmt(got['distribution']):40} | ours: {fmt(got['ours'])}"
        table.append(row)
        if got["distribution"] != want or got["ours"] != want:
            mismatches.append(f"{row} | want: {fmt(want)}")
    print("\n".join(["", "token battery (/v2/, tags/list):", *table]))
    assert not mismatches, "\n".join(mismatches)
    assert len(cases) >= 50


async def test_documented_divergence_case_insensitive_members(
    servers: list[Server], pki: Pki, http: aiohttp.ClientSession
) -> None:
    """Go's JSON decoder matches member names case-insensitively; RFC 7519 §4 does not.

    Distribution therefore accepts `"ISS"` for `iss` and honours `"Access"`; we do not. This
    is a deliberate divergence (stricter), kept visible here.
    """
    now = int(time.time())
    es = pki.es256
    header = {"alg": "ES256", "kid": es.kid}
    body = claims(now)
    body["ISS"] = body.pop("iss")
    token = bearer(make_token(header, body, es.key))
    got = await decisions(http, servers, Case("ISS", token, False, False))
    assert got["distribution"] == ((True, ""), (True, ""))
    assert got["ours"] == ((False, "invalid_token"), (False, "invalid_token"))
