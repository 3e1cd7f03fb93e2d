"""Faults with real processes: PostgreSQL going away under load, SIGKILL mid-upload and
mid-manifest, and many clients pushing the same content at once.

Each test prints one line for the fault table of the closing note (run with ``-s`` to see
them): what the client saw, what was recorded, and whether anything was lost.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bench.procs import spawn, stop, wait_http
from tests.support import free_port, require_interop, wait_until

pytestmark = pytest.mark.interop

BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --- PostgreSQL stops and starts under a steady token load ------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port, owned by the ``postgres`` user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.root / "pg.log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        if require_interop():
            pytest.fail("a private PostgreSQL needs root, runuser and PostgreSQL 15's binaries")
        pytest.skip("a private PostgreSQL needs root, runuser and PostgreSQL 15's binaries")
    # Not under pytest's tmp_path: its root is private to root, and the cluster runs as postgres.
    pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="authsvc-pg-")))
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(pg.data),
             "-m", "immediate", "stop"],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(pg.root, ignore_errors=True)


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    result = subprocess.run(
        [str(BIN / "authsvc"), *args], env=env, input=stdin, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_postgres_stops_and_starts_under_token_load(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        AUTHSVC_DATABASE_URL=private_postgres.url,
        AUTHSVC_SIGNING_KEY=str(tmp_path / "keys" / "token.key"),
        AUTHSVC_SIGNING_CERT=str(tmp_path / "keys" / "token.crt"),
        AUTHSVC_LISTEN=f"127.0.0.1:{free_port()}",
        # Every request goes to the database: no remembered passwords.
        AUTHSVC_CREDENTIAL_CACHE_TTL="0",
    )
    cli(env, "keys", "generate", "--out", str(tmp_path / "keys"))
    cli(env, "db", "upgrade")
    cli(env, "user", "add", "alice", "--password-stdin", stdin="alice-Secret-1\n")
    cli(env, "acl", "add", "--account", "alice", "--name", "alice/*", "--actions", "pull")
    log = tmp_path / "authsvc.log"
    proc = spawn([str(BIN / "authsvc"), "serve"], log, env=env)
    url = f"http://{env['AUTHSVC_LISTEN']}/auth?service=registry&scope=repository:alice/a:pull"
    seen: Counter[str] = Counter()
    slowest = [0.0]
    phase = ["before"]
    done = threading.Event()
    request = urllib.request.Request(url)
    request.add_header(
        "Authorization", "Basic " + base64.b64encode(b"alice:alice-Secret-1").decode()
    )

    def load() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    outcome = str(resp.status)
            except urllib.error.HTTPError as exc:
                body = exc.read().decode(errors="replace")
                retry = exc.headers.get("Retry-After")
                json.loads(body)  # the JSON envelope, never a traceback page
                outcome = f"{exc.code} Retry-After={retry}"
            except OSError as exc:
                outcome = f"connection error {type(exc).__name__}"
            slowest[0] = max(slowest[0], time.monotonic() - started)
            seen[f"{phase[0]}: {outcome}"] += 1

    try:
        wait_http(f"http://{env['AUTHSVC_LISTEN']}/readyz", proc, log)
        thread = threading.Thread(target=load)
        thread.start()
        try:
            wait_until(lambda: seen["before: 200"] >= 20, "a steady load before the outage")
            phase[0] = "down"
            private_postgres.stop()
            # The outage lasts until the load has met it many times.
            wait_until(
                lambda: sum(v for k, v in seen.items() if k.startswith("down")) >= 200,
                "the load meeting the outage",
            )
            phase[0] = "back"
            private_postgres.start()
            back = time.monotonic()
            recovered = None
            while time.monotonic() - back < 20:
                if seen.get("back: 200", 0) >= 20:
                    recovered = time.monotonic() - back
                    break
                time.sleep(0.1)
        finally:
            done.set()
            thread.join()
        assert proc.poll() is None, "authsvc exited during the outage"
        down = {k: v for k, v in seen.items() if k.startswith("down")}
        assert set(down) <= {"down: 200", "down: 503 Retry-After=5"}, seen
        assert down.get("down: 503 Retry-After=5", 0) > 0, seen
        assert recovered is not None, f"no recovery within 20 s: {seen}"
        assert slowest[0] < 15, f"a request took {slowest[0]:.1f} s"
        assert "Traceback" not in log.read_text(errors="replace")
        print(
            f"\nFAULT postgres-down-up: {dict(seen)}; slowest {slowest[0]:.2f} s; "
            f"200s again {recovered:.2f} s after the restart, no authsvc restart"
        )
    finally:
        stop(proc)


# --- the registry: SIGKILL mid-upload and mid-manifest, and 50 parallel pushes ---------------


class Registry:
    """``registry serve`` without auth on a storage root that survives restarts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.storage = root / "storage"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.env.update(
            REGISTRY_HTTP_ADDR=f"127.0.0.1:{self.port}",
            REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(self.storage),
            REGISTRY_STORAGE_DELETE_ENABLED="true",
            REGISTRY_HTTP_SECRET="fault-tests",
            REGISTRY_LOG_LEVEL="warn",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.root / "registry.log"
        self.proc = spawn([str(BIN / "registry"), "serve"], log, env=self.env)
        wait_http(f"{self.base}/v2/", self.proc, log)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def gc_dry_run(self) -> str:
        result = subprocess.run(
            [str(BIN / "registry"), "gc", "--dry-run"], env=self.env, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    def uploads_left(self) -> list[Path]:
        repos = self.storage / "docker" / "registry" / "v2" / "repositories"
        return [p for p in repos.glob("**/_uploads/*") if p.is_dir()]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(tmp_path)
    reg.start()
    try:
        yield reg
    finally:
        if reg.proc is not None:
            stop(reg.proc)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_sigkill_mid_upload_and_mid_manifest(registry: Registry) -> None:
    asyncio.run(_sigkill_mid_upload_and_mid_manifest(registry))


async def _sigkill_mid_upload_and_mid_manifest(registry: Registry) -> None:
    first, second = os.urandom(256 << 10), os.urandom(1 << 20)
    blob = first + second
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{registry.base}/v2/team/app/blobs/uploads/")
        assert resp.status == 202
        location = resp.headers["Location"]
        resp = await http.patch(
            registry.base + location, data=first,
            headers={"Content-Range": f"0-{len(first) - 1}"},
        )  # fmt: skip
        assert resp.status == 202
        location = resp.headers["Location"]

        async def trickle() -> object:
            for i in range(0, len(second), 64 << 10):
                if i == 256 << 10:
                    registry.kill()
                yield second[i : i + (64 << 10)]
                await asyncio.sleep(0.05)

        with pytest.raises(aiohttp.ClientError):
            await http.patch(registry.base + location, data=trickle())
        registry.start()
        # Nothing of the interrupted chunk is served as a blob.
        assert (
            await http.head(f"{registry.base}/v2/team/app/blobs/{digest_of(blob)}")
        ).status == 404
        status = await http.get(registry.base + location)
        assert status.status in (204, 404), await status.text()
        if status.status == 204:
            # Resumable: the upload kept what it had, from the offset it reports.
            end = int(status.headers["Range"].rpartition("-")[2]) + 1
            location = status.headers["Location"]
            outcome = f"upload resumable at {end} bytes"
        else:
            outcome = "upload cleanly unknown (404 BLOB_UPLOAD_UNKNOWN)"
            resp = await http.post(f"{registry.base}/v2/team/app/blobs/uploads/")
            location = resp.headers["Location"]
            end = 0
        resp = await http.patch(
            registry.base + location, data=blob[end:],
            headers={"Content-Range": f"{end}-{len(blob) - 1}"},
        )  # fmt: skip
        assert resp.status == 202, await resp.text()
        resp = await http.put(
            registry.base + resp.headers["Location"], params={"digest": digest_of(blob)}
        )
        assert resp.status == 201, await resp.text()
        got = await http.get(f"{registry.base}/v2/team/app/blobs/{digest_of(blob)}")
        assert await got.read() == blob

        # A manifest PUT killed while its body arrives: no manifest and no tag afterwards.
        config = b"{}"
        resp = await http.post(
            f"{registry.base}/v2/team/app/blobs/uploads/?digest={digest_of(config)}", data=config
        )
        assert resp.status == 201
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": digest_of(config), "size": len(config),
                },
                "layers": [
                    {"mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": digest_of(blob), "size": len(blob)}
                ],
                "annotations": {"padding": "x" * 200_000},
            }
        ).encode()  # fmt: skip

        async def trickle_manifest() -> object:
            for i in range(0, len(manifest), 16 << 10):
                if i == 64 << 10:
                    registry.kill()
                yield manifest[i : i + (16 << 10)]
                await asyncio.sleep(0.05)

        with pytest.raises(aiohttp.ClientError):
            await http.put(
                f"{registry.base}/v2/team/app/manifests/v1", data=trickle_manifest(),
                headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                         "Content-Length": str(len(manifest))},
            )  # fmt: skip
        registry.start()
        assert (await http.get(f"{registry.base}/v2/team/app/manifests/v1")).status == 404
        digest = digest_of(manifest)
        assert (await http.get(f"{registry.base}/v2/team/app/manifests/{digest}")).status == 404
    report = registry.gc_dry_run()
    summary = report.strip().splitlines()[-1]
    print(f"\nFAULT sigkill: {outcome}; manifest absent after restart; gc --dry-run: {summary}")


def test_fifty_parallel_pushes_of_one_blob_and_one_tag(registry: Registry) -> None:
    asyncio.run(_fifty_parallel_pushes(registry))


async def _fifty_parallel_pushes(registry: Registry) -> None:
    layer, config = os.urandom(300 << 10), b'{"architecture":"amd64","os":"linux"}'
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest_of(layer), "size": len(layer)}],
        }
    ).encode()  # fmt: skip
    statuses: Counter[int] = Counter()

    async def push(http: aiohttp.ClientSession) -> None:
        for blob in (config, layer):
            resp = await http.post(f"{registry.base}/v2/team/same/blobs/uploads/")
            assert resp.status == 202
            resp = await http.put(
                registry.base + resp.headers["Location"], params={"digest": digest_of(blob)},
                data=blob,
            )  # fmt: skip
            statuses[resp.status] += 1
        resp = await http.put(
            f"{registry.base}/v2/team/same/manifests/latest", data=manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )  # fmt: skip
        statuses[resp.status] += 1

    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(push(http) for _ in range(50)))
        assert statuses == Counter({201: 150}), statuses
        resp = await http.get(
            f"{registry.base}/v2/team/same/manifests/latest",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert resp.status == 200
        assert await resp.read() == manifest
        got = await http.get(f"{registry.base}/v2/team/same/blobs/{digest_of(layer)}")
        assert await got.read() == layer
    assert registry.uploads_left() == []
    print(f"\nFAULT 50 parallel pushes: {dict(statuses)}; tag on the manifest; no _uploads left")


# --- the disk fills ------------------------------------------------------------------------


@pytest.fixture
def small_disk_registry(tmp_path: Path) -> Iterator[Registry]:
    """Our registry with its storage on a 2 MiB tmpfs (mounting needs root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
        )
        if os.geteuid() == 0
        else None
    )
    if done is None or done.returncode != 0:
        why = "not root" if done is None else done.stderr.decode().strip()
        if require_interop():
            pytest.fail(f"cannot mount a small tmpfs: {why}")
        pytest.skip(f"cannot mount a small tmpfs: {why}")
    reg = Registry(tmp_path)
    reg.storage = mount / "storage"
    reg.env["REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"] = str(reg.storage)
    reg.start()
    try:
        yield reg
    finally:
        if reg.proc is not None:
            stop(reg.proc)
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk(small_disk_registry: Registry) -> None:
    asyncio.run(_full_disk(small_disk_registry))


async def _full_disk(registry: Registry) -> None:
    ballast = registry.storage.parent / "ballast"
    ballast.write_bytes(b"\0" * (1600 << 10))
    blob = os.urandom(768 << 10)
    async with aiohttp.ClientSession() as http:
        url = f"{registry.base}/v2/team/app/blobs/uploads/?digest={digest_of(blob)}"
        async with http.post(url, data=blob) as resp:
            status, body = resp.status, await resp.json()
        assert status == 507, body
        assert body["errors"][0]["code"] == "STORAGE_FULL"
        # Nothing half-written is served.
        head = await http.head(f"{registry.base}/v2/team/app/blobs/{digest_of(blob)}")
        assert head.status == 404
        ballast.unlink()
        async with http.post(url, data=blob) as resp:
            assert resp.status == 201, await resp.text()
        async with http.get(f"{registry.base}/v2/team/app/blobs/{digest_of(blob)}") as resp:
            assert await resp.read() == blob
    assert registry.uploads_left() == []
    print("\nFAULT disk full: 507 STORAGE_FULL in the envelope, no blob served; after freeing"
          " space the same push succeeded and reads back identical")  # fmt: skip
