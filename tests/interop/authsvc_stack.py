"""Real processes for the interop tests: authsvc, both registries, dockerd, containerd.

Every process is started in its own session (process group) and stopped by its id with SIGTERM,
then SIGKILL after a bounded wait (bench/procs.py, which the benchmarks use too); all state lives
in temporary directories. Test images are OCI layouts written by bench/ociimage.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.ociimage import OciImage, tar_layer, write_image
from bench.procs import free_port, spawn, stop, wait_http
from bench.services import SERVICE, Registry, ServerTls, start_distribution, start_ours

BIN = Path(sys.executable).parent
AUTHSVC = str(BIN / "authsvc")
ISSUER = "authsvc-interop"
CMD_TIMEOUT = 120.0


def short_tempdir(prefix: str) -> Path:
    """A directory with a short path: unix socket paths are limited to 108 bytes."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


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
    # Set by ``use_tls``: the server then listens with HTTPS only, and this trusts its CA.
    client_context: ssl.SSLContext | None = None

    def use_tls(self, cert: Path, key: Path, ca: Path) -> None:
        """Serve HTTPS with ``cert``/``key`` (AUTHSVC_TLS_*); ``ca`` is what clients trust."""
        self.env.update(AUTHSVC_TLS_CERT=str(cert), AUTHSVC_TLS_KEY=str(key))
        self.client_context = ssl.create_default_context(cafile=str(ca))

    @property
    def url(self) -> str:
        """The base URL, ``https`` once ``use_tls`` was called."""
        scheme = "http" if self.client_context is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def realm(self) -> str:
        """The token endpoint URL that registries announce."""
        return f"{self.url}/auth"

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

    def wait_for_log_marker(self, timeout: float = 10.0) -> None:
        """Request /healthz with a unique query and wait (with a deadline) for its log line."""
        marker = f"flush={secrets.token_hex(8)}"
        url = f"{self.url}/healthz?{marker}"
        with urllib.request.urlopen(url, timeout=10, context=self.client_context):
            pass
        deadline = time.monotonic() + timeout
        while marker not in self.log_text():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the access log did not show {marker} within {timeout} s")
            time.sleep(0.05)

    def count_in_log(self, needle: str, *, more_than: int | None = None) -> int:
        """Occurrences of ``needle`` in the log. Access-log lines are written in batches at
        least every 0.1 s (httplog/): without ``more_than``, first wait until a marker request
        is logged (batches land in order, so every earlier request's line is in); with it,
        wait up to 2 s for the count to exceed it."""
        if more_than is None:
            self.wait_for_log_marker()
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
        # The client tests send wrong passwords on purpose, many times from 127.0.0.1.
        "AUTHSVC_THROTTLE_FREE_ATTEMPTS": "1000",
        "AUTHSVC_THROTTLE_ADDRESS_FREE_ATTEMPTS": "1000",
        # Everything at DEBUG, so that the no-secret-in-logs check covers every level.
        "AUTHSVC_LOG_LEVEL": "debug",
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
        wait_http(f"{svc.url}/readyz", proc, svc.log, context=svc.client_context)
        yield svc
    finally:
        stop(proc)
        svc.proc = None


@contextmanager
def serve_distribution(
    binary: str, root: Path, *, realm: str, bundle: Path, tls: ServerTls | None = None
) -> Iterator[Registry]:
    """Debian's Distribution 2.8 (``docker-registry``) on an ephemeral loopback port."""
    with ExitStack() as stack:
        yield start_distribution(
            stack, binary, root, realm=realm, bundle=bundle, issuer=ISSUER, quiet=False, tls=tls
        )


@contextmanager
def serve_ours(
    root: Path, *, realm: str, bundle: Path, tls: ServerTls | None = None
) -> Iterator[Registry]:
    """Our ``registry serve`` with the same realm, service, issuer and bundle as Distribution,
    so one test body drives both registries."""
    with ExitStack() as stack:
        yield start_ours(
            stack,
            root,
            realm=realm,
            bundle=bundle,
            issuer=ISSUER,
            quiet=False,
            tls=tls,
            debug=True,
        )


@contextmanager
def run_dockerd(
    binary: str, registry: str | None, root: Path, *, https_proxy: str | None = None
) -> Iterator[str]:
    """Run a private dockerd (vfs, no networking) and yield its DOCKER_HOST.

    ``registry`` (host:port) is a plain-HTTP registry, marked insecure. dockerd verifies
    the certificates of other registries (/etc/docker/certs.d and the system pool), except on
    127.0.0.0/8, which it always treats as insecure; ``https_proxy`` (connect_proxy.py) lets it
    reach loopback registries by another name.
    """
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
    ]  # fmt: skip
    if registry is not None:
        args += ["--insecure-registry", registry]
    env = dict(os.environ)
    if https_proxy is not None:
        env["HTTPS_PROXY"] = https_proxy
    proc = spawn(args, root / "dockerd.log", env=env)
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


def build_oci_image(layout: Path, *, tag: str = "latest", text: str = "hello") -> OciImage:
    """A one-layer image holding one small file, for the host platform, deterministically."""
    layer = tar_layer({"hello.txt": f"{text}\n".encode()})
    return write_image(layout, tag, [layer], cmd=["/hello.txt"])
