"""Real processes for the interop tests: authsvc, both registries, dockerd, containerd.

Every process is started in its own session (process group) and stopped by its id with SIGTERM,
then SIGKILL after a bounded wait; all state lives in temporary directories.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import free_port

BIN = Path(sys.executable).parent
AUTHSVC = str(BIN / "authsvc")
SERVICE = "registry"
ISSUER = "authsvc-interop"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
STOP_TIMEOUT = 15.0
CMD_TIMEOUT = 120.0


def goarch() -> str:
    """The host architecture in OCI/Go terms, so pulled images match the local platform."""
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine)


def short_tempdir(prefix: str) -> Path:
    """A directory with a short path: unix socket paths are limited to 108 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def spawn(
    args: Sequence[str], log: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in a new session, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process (and the group it leads), then SIGKILL what is left after a bound."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    # Children it spawned (dockerd's containerd, shims) share its process group id = its pid.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    timeout: float = CMD_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run a client command with a bound; on unexpected failure show its output."""
    result = subprocess.run(
        list(args), env=env, input=input, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def wait_http_ok(
    url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers 200 (and fail early if ``proc`` died)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


@dataclass
class Authsvc:
    """A running ``authsvc serve`` with its temp database, keys and CLI environment."""

    root: Path
    port: int
    env: dict[str, str]
    kid: str
    cert: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def realm(self) -> str:
        """The token endpoint URL that registries announce."""
        return f"http://127.0.0.1:{self.port}/auth"

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``authsvc`` console script against this instance's settings."""
        return run([AUTHSVC, *args], env=self.env, input=input, check=check)

    def cli_parallel(self, commands: Sequence[tuple[Sequence[str], str | None]]) -> None:
        """Run several CLI commands at once (each pays ~1 s of interpreter start-up)."""
        procs = [
            (
                args,
                subprocess.Popen(
                    [AUTHSVC, *args],
                    env=self.env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
                stdin,
            )
            for args, stdin in commands
        ]
        failures = []
        for args, proc, stdin in procs:
            out, err = proc.communicate(stdin, timeout=CMD_TIMEOUT)
            if proc.returncode != 0:
                failures.append(f"authsvc {' '.join(args)} exited {proc.returncode}: {out}{err}")
        assert not failures, "\n".join(failures)

    def add_users(self, passwords: dict[str, str]) -> None:
        """``authsvc user add NAME --password-stdin`` for each user."""
        self.cli_parallel(
            [
                (["user", "add", name, "--password-stdin"], pw + "\n")
                for name, pw in passwords.items()
            ]
        )

    def add_rules(self, rules: Sequence[tuple[str, str, str, str]]) -> None:
        """``authsvc acl add`` for each (account, name, actions, type)."""
        commands: list[tuple[Sequence[str], str | None]] = []
        for account, name, actions, rtype in rules:
            args = ["acl", "add", "--account", account, "--name", name, "--type", rtype]
            commands.append(([*args, "--actions", actions], None))
        self.cli_parallel(commands)

    def log_text(self) -> str:
        """Everything the server logged so far (access log included)."""
        return self.log.read_text(errors="replace")

    def count_in_log(self, needle: str, *, more_than: int | None = None) -> int:
        """Occurrences of ``needle`` in the log. Access-log lines are written in batches at
        least every 0.1 s (authsvc/accesslog.py): without ``more_than`` wait for the batch in
        flight to land; with it, wait up to 2 s for the count to exceed it."""
        if more_than is None:
            time.sleep(0.3)
            return self.log_text().count(needle)
        deadline = time.monotonic() + 2.0
        while True:
            count = self.log_text().count(needle)
            if count > more_than or time.monotonic() > deadline:
                return count
            time.sleep(0.05)


def prepare_authsvc(root: Path, alg: str, *, migrate: bool = True) -> Authsvc:
    """Generate keys with ``authsvc keys generate`` and migrate a fresh SQLite database."""
    root.mkdir(parents=True, exist_ok=True)
    keys = root / "keys"
    port = free_port()
    env = {
        **os.environ,
        "AUTHSVC_LISTEN": f"127.0.0.1:{port}",
        "AUTHSVC_DATABASE_URL": f"sqlite:///{root / 'authsvc.db'}",
        "AUTHSVC_SIGNING_KEY": str(keys / "token.key"),
        "AUTHSVC_SIGNING_CERT": str(keys / "token.crt"),
        "AUTHSVC_SERVICE": SERVICE,
        "AUTHSVC_ISSUER": ISSUER,
        "AUTHSVC_REALM": "authsvc-interop",
    }
    env.pop("AUTHSVC_CONFIG", None)
    kid = run([AUTHSVC, "keys", "generate", "--alg", alg, "--out", str(keys)], env=env).stdout
    if migrate:
        run([AUTHSVC, "db", "upgrade"], env=env)
    return Authsvc(root, port, env, kid.strip(), keys / "token.crt", root / "authsvc.log")


@contextmanager
def serve_authsvc(svc: Authsvc) -> Iterator[Authsvc]:
    """Run ``authsvc serve`` until the block ends."""
    proc = spawn([AUTHSVC, "serve"], svc.log, env=svc.env)
    svc.proc = proc
    try:
        wait_http_ok(f"http://127.0.0.1:{svc.port}/readyz", proc=proc)
        yield svc
    finally:
        stop(proc)
        svc.proc = None


@dataclass
class Registry:
    """A running registry behind authsvc's token auth: Distribution 2.8 or ours."""

    kind: str  # "distribution" (Debian's docker-registry) or "ours" (``registry serve``)
    port: int
    storage: Path
    log: Path

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT`` as image references spell it."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://{self.host}"


def _wait_v2(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Wait until ``/v2/`` answers (401 with a Bearer challenge, since auth is on)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"registry exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"registry on port {port} not ready after {timeout}s")
        time.sleep(0.05)


@contextmanager
def serve_distribution(binary: str, root: Path, *, realm: str, bundle: Path) -> Iterator[Registry]:
    """Write a config.yml with auth.token and run Distribution on an ephemeral loopback port.

    Debian's default config plus REGISTRY_AUTH_TOKEN_* variables silently stays on htpasswd,
    so the whole auth section is written to the file.
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
        "auth:\n  token:\n"
        f"    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
        f"    rootcertbundle: {bundle}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    log = root / "distribution.log"
    proc = spawn([binary, "serve", str(config)], log, env=env)
    try:
        _wait_v2(port, proc, log)
        yield Registry("distribution", port, root / "storage", log)
    finally:
        stop(proc)


@contextmanager
def serve_ours(root: Path, *, realm: str, bundle: Path) -> Iterator[Registry]:
    """Run our ``registry serve`` configured through Distribution's REGISTRY_* variables only.

    The same realm, service, issuer and certificate bundle as Distribution gets, so one test
    body drives both registries.
    """
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}",
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(root / "storage"),
        REGISTRY_STORAGE_DELETE_ENABLED="true",
        REGISTRY_AUTH_TOKEN_REALM=realm,
        REGISTRY_AUTH_TOKEN_SERVICE=SERVICE,
        REGISTRY_AUTH_TOKEN_ISSUER=ISSUER,
        REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=str(bundle),
    )
    log = root / "registry.log"
    proc = spawn([str(BIN / "registry"), "serve"], log, env=env)
    try:
        _wait_v2(port, proc, log)
        yield Registry("ours", port, root / "storage", log)
    finally:
        stop(proc)


@contextmanager
def run_dockerd(binary: str, registry: str, root: Path) -> Iterator[str]:
    """Run a private dockerd (vfs, no networking) and yield its DOCKER_HOST."""
    base = short_tempdir("asd-")
    sock = base / "docker.sock"
    daemon_json = root / "daemon.json"
    root.mkdir(parents=True, exist_ok=True)
    daemon_json.write_text("{}\n")
    args = [
        binary,
        "--config-file", str(daemon_json),
        "--data-root", str(root / "data"),
        "--exec-root", str(base / "exec"),
        "-H", f"unix://{sock}",
        "--iptables=false", "--ip6tables=false", "--bridge=none",
        "--storage-driver=vfs",
        "--pidfile", str(base / "docker.pid"),
        "--insecure-registry", registry,
    ]  # fmt: skip
    proc = spawn(args, root / "dockerd.log")
    host = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(root / 'dockerd.log').read_text()[-2000:]}")
            probe = subprocess.run(
                ["docker", "-H", host, "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                timeout=10,
            )
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("dockerd did not come up in 60 s")
            time.sleep(0.3)
        yield host
    finally:
        stop(proc, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def run_containerd(binary: str, root: Path) -> Iterator[str]:
    """Run a private containerd (no CRI) with temp root/state/address; yield its socket."""
    base = short_tempdir("acd-")
    sock = base / "containerd.sock"
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{root / "root"}"\n'
        f'state = "{base / "state"}"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n'
        f'[ttrpc]\n  address = "{sock}.ttrpc"\n'
        '[debug]\n  address = ""\n'
        '[metrics]\n  address = ""\n'
        f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{root / "opt"}"\n'
    )
    proc = spawn([binary, "--config", str(config)], root / "containerd.log")
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"containerd exited: {(root / 'containerd.log').read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError("containerd did not come up in 30 s")
            time.sleep(0.1)
        yield str(sock)
    finally:
        stop(proc)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class OciImage:
    """A tiny single-layer image written as an OCI image layout directory."""

    layout: Path
    tag: str
    manifest_digest: str
    layer_digest: str
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """The ``oci:`` transport reference for skopeo."""
        return f"oci:{self.layout}:{self.tag}"


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}", len(data)


def build_oci_image(layout: Path, *, tag: str = "latest", text: str = "hello") -> OciImage:
    """Build a one-layer image (one small file) for the host platform, deterministically."""
    files = {"hello.txt": f"{text}\n".encode()}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    layer = gzip.compress(tar_bytes, mtime=0)
    layer_digest, layer_size = _blob(layout, layer)
    config = {
        "architecture": goarch(),
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {
            "type": "layers",
            "diff_ids": [f"sha256:{hashlib.sha256(tar_bytes).hexdigest()}"],
        },
    }
    config_digest, config_size = _blob(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = _blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    return OciImage(layout, tag, manifest_digest, layer_digest, files)
