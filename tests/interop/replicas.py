"""Three `registry serve` processes on one storage root behind Debian's nginx (round robin).

Support for tests/interop/test_replicas.py: the processes share `http.secret`, so each verifies
the `_state` of upload URLs that another signed.  nginx runs from its own temp config on an
ephemeral port and reports in `X-Upstream` which replica answered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port, require_tool, wait_for_port

REGISTRY = str(Path(sys.executable).parent / "registry")
SECRET = "replicas-share-this-secret"


@dataclass
class Replica:
    """One `registry serve` process."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as when a machine disappears."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)


@dataclass
class Cluster:
    """The replicas and the balancer in front of them."""

    replicas: list[Replica]
    lb_port: int
    root: Path

    @property
    def lb(self) -> str:
        return f"127.0.0.1:{self.lb_port}"


@contextmanager
def replica(root: Path, logs: Path) -> Iterator[Replica]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_HTTP_SECRET": SECRET,
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_LOG_LEVEL": "warn",
        "REGISTRY_LOG_ACCESSLOG_DISABLED": "true",
    }
    with (logs / f"replica-{port}.log").open("wb") as log:
        proc = subprocess.Popen([REGISTRY, "serve"], env=env, stdout=log, stderr=log)
        member = Replica(port, proc)
        try:
            wait_for_port(port)
            yield member
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def nginx_config(prefix: Path, port: int, upstreams: list[int]) -> str:
    """A self-contained nginx.conf: round robin, no stickiness, bodies streamed both ways."""
    servers = "\n".join(
        # One failed connection takes a replica out for 10 s, so a dead one costs one retry.
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;"
        for p in upstreams
    )
    return f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
user root root;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream registry {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        # Blobs of any size, streamed rather than spooled (as Distribution's nginx recipe).
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        # A refused connection to a dead replica goes to the next one; a request already
        # sent is not replayed (nginx's default for non-idempotent methods).
        proxy_next_upstream error timeout;
        add_header X-Upstream $upstream_addr always;
        location / {{ proxy_pass http://registry; }}
    }}
}}
"""


@contextmanager
def balancer(prefix: Path, upstreams: list[int]) -> Iterator[int]:
    binary = require_tool("nginx")
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, port, upstreams))
    with (prefix / "stderr.log").open("wb") as log:
        # -e: the startup error log, before the config's own is read (nginx >= 1.19.5).
        proc = subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stdout=log,
            stderr=log,
        )
        try:
            wait_for_port(port)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def cluster(tmp: Path, size: int = 3) -> Iterator[Cluster]:
    """`size` replicas over tmp/root behind nginx."""
    root = tmp / "root"
    root.mkdir()
    with ExitStack() as stack:
        members = [stack.enter_context(replica(root, tmp)) for _ in range(size)]
        port = stack.enter_context(balancer(tmp / "nginx", [m.port for m in members]))
        yield Cluster(members, port, root)
