"""``--workers N`` for both services, run as real processes (gunicorn's master and its workers).

What is checked is what an operator relies on: requests are spread over the workers and every
one is answered, the metrics listener shows the sum of all workers, SIGHUP replaces the workers
without a failed request, an upload moves between workers as between replicas, and SIGTERM lets
an upload in flight finish before the server exits.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.procs import spawn, stop, wait_http
from tests.support import free_port

BIN = Path(sys.executable).parent


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (gunicorn's workers)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def wait_children(
    pid: int, n: int, *, exclude: set[int] = frozenset(), timeout: float = 30
) -> set[int]:  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = children(pid) - exclude
        if len(found) >= n and not (children(pid) & exclude):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{pid} did not have {n} new workers in {timeout} s: {children(pid)}")


def fresh() -> httpx2.Client:
    """A client that opens a new connection per request, so requests reach other workers."""
    return httpx2.Client(headers={"Connection": "close"}, timeout=30)


def run_cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(args, env=env, input=stdin, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def authsvc_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSVC_")}
    env.update(
        AUTHSVC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
        AUTHSVC_SIGNING_KEY=str(tmp_path / "keys" / "token.key"),
        AUTHSVC_SIGNING_CERT=str(tmp_path / "keys" / "token.crt"),
        AUTHSVC_LISTEN=f"127.0.0.1:{free_port()}",
        AUTHSVC_METRICS_LISTEN=f"127.0.0.1:{free_port()}",
    )
    authsvc = str(BIN / "authsvc")
    run_cli([authsvc, "keys", "generate", "--out", str(tmp_path / "keys")], env)
    run_cli([authsvc, "db", "upgrade"], env)
    run_cli([authsvc, "user", "add", "bob", "--password-stdin"], env, "bob-Secret-1\n")
    run_cli([authsvc, "acl", "add", "--account", "bob", "--name", "*", "--actions", "pull"], env)
    return env


@pytest.fixture
def authsvc_workers(
    authsvc_env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    log = tmp_path / "authsvc.log"
    proc = spawn([str(BIN / "authsvc"), "serve", "--workers", "2"], log, env=authsvc_env)
    try:
        wait_http(f"http://{authsvc_env['AUTHSVC_LISTEN']}/readyz", proc, log)
        yield proc
    finally:
        stop(proc)


def tokens_issued(metrics_addr: str) -> float:
    text = httpx2.get(f"http://{metrics_addr}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "authsvc_tokens_issued_total"
    )


def test_authsvc_workers_share_the_port_the_metrics_and_reload_on_hangup(
    authsvc_env: dict[str, str], authsvc_workers: subprocess.Popen[bytes]
) -> None:
    master = authsvc_workers.pid
    first = wait_children(master, 2)
    url = f"http://{authsvc_env['AUTHSVC_LISTEN']}/auth"
    params = {"service": "registry", "scope": "repository:x:pull"}
    session = fresh()
    for _ in range(40):
        resp = session.get(url, params=params, auth=("bob", "bob-Secret-1"), timeout=10)
        assert resp.status_code == 200
    # Every worker's count, summed by the master's listener.
    assert tokens_issued(authsvc_env["AUTHSVC_METRICS_LISTEN"]) == 40

    failures: list[str] = []
    answered = threading.Semaphore(0)
    done = threading.Event()

    def load() -> None:
        client = fresh()
        while not done.is_set():
            try:
                r = client.get(url, params=params, auth=("bob", "bob-Secret-1"), timeout=10)
                if r.status_code != 200:
                    failures.append(str(r.status_code))
            except httpx2.HTTPError as exc:
                failures.append(repr(exc))
            answered.release()

    def wait_answers(n: int) -> None:
        for _ in range(n):
            assert answered.acquire(timeout=30), "the load stopped getting answers"

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_answers(20)  # the load is running on the first workers
        os.kill(master, signal.SIGHUP)
        replaced = wait_children(master, 2, exclude=first)
        wait_answers(20)  # and goes on, answered by the new ones
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert replaced.isdisjoint(first)
    assert failures == []

    authsvc_workers.send_signal(signal.SIGTERM)
    assert authsvc_workers.wait(timeout=30) == 0


@pytest.fixture
def registry_workers(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}",
        REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=str(tmp_path / "storage"),
        REGISTRY_LOG_LEVEL="warn",
    )
    log = tmp_path / "registry.log"
    proc = spawn([str(BIN / "registry"), "serve", "--workers", "2"], log, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/v2/", proc, log)
        wait_children(proc.pid, 2)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop(proc)


def test_registry_uploads_move_between_workers_and_finish_on_sigterm(
    registry_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, proc = registry_workers
    session = fresh()
    # A chunked upload, each step on a new connection: the workers share no memory, so this
    # works only if the upload state travels in the signed Location (the shared http.secret).
    chunks = [os.urandom(64 * 1024) for _ in range(6)]
    digest = "sha256:" + hashlib.sha256(b"".join(chunks)).hexdigest()
    resp = session.post(f"{base}/v2/team/app/blobs/uploads/", timeout=10)
    assert resp.status_code == 202
    location = resp.headers["Location"]
    offset = 0
    for chunk in chunks:
        resp = session.patch(
            location if location.startswith("http") else base + location,
            content=chunk,
            headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}"},
            timeout=10,
        )
        assert resp.status_code == 202, resp.text
        location = resp.headers["Location"]
        offset += len(chunk)
    resp = session.put(
        (location if location.startswith("http") else base + location),
        params={"digest": digest},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    got = session.get(f"{base}/v2/team/app/blobs/{digest}", timeout=10)
    assert got.content == b"".join(chunks)

    # SIGTERM while a slow upload is in flight: the server waits for it, then exits.
    resp = session.post(f"{base}/v2/team/slow/blobs/uploads/", timeout=10)
    location = resp.headers["Location"]
    target = location if location.startswith("http") else base + location
    payload = os.urandom(256 * 1024)

    def trickle() -> Iterator[bytes]:
        for i in range(0, len(payload), 32 * 1024):
            if i == 64 * 1024:
                proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            yield payload[i : i + 32 * 1024]

    resp = session.patch(target, content=trickle(), timeout=30)
    assert resp.status_code == 202, resp.text
    assert resp.headers["Range"] == f"0-{len(payload) - 1}"
    assert proc.wait(timeout=30) == 0


def test_a_service_can_keep_its_workers_on_asyncio() -> None:
    # uvloop has no loop.sendfile: aiohttp would copy each blob through user space instead.
    from aiohttp import web

    from svckit.workers import WorkerSpec, _worker_class

    spec = WorkerSpec(
        make_app=web.Application, make_ssl=lambda: None, host="127.0.0.1", port=0,
        workers=2, header_timeout=5.0, malformed_code="UNSUPPORTED", uvloop=False,
    )  # fmt: skip
    assert _worker_class(spec) == "svckit.workers.AiohttpWorker"
