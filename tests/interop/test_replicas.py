"""Three replicas on one storage root behind nginx, round robin, no stickiness.

- A chunked upload whose every request lands on another replica completes (upload state in
  storage, `_state` signed with the shared `http.secret`).
- A replica's manifest cache never serves a tag another replica moved or deleted for longer
  than the documented bound (registry/CONFIG.md "Replicas": the 2 s lookup TTL).
- Killing one replica during a stream of skopeo pushes and pulls fails no operation that
  skopeo retries; the counts are printed for the closing note.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.interop.replicas import Cluster, cluster
from tests.interop.test_storage_skopeo import build_oci_layout
from tests.support import require_tool

pytestmark = pytest.mark.interop

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# registry/storage/cached_manifests.py DEFAULT_TTL, the bound CONFIG.md documents.
CACHE_TTL = 2.0


def request(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def replicas(tmp_path: Path) -> object:
    require_tool("nginx")
    with cluster(tmp_path) as members:
        yield members


def test_a_chunked_upload_spread_over_three_replicas_completes(replicas: Cluster) -> None:
    base = f"http://{replicas.lb}"
    chunks = [os.urandom(300_000) for _ in range(5)]
    status, headers, _ = request("POST", f"{base}/v2/spread/blobs/uploads/")
    assert status == 202
    served_by = [headers["X-Upstream"]]
    location = headers["Location"]
    assert "?_state=" in location  # signed with the replicas' shared http.secret
    for chunk in chunks:
        status, headers, body = request("PATCH", base + location, chunk)
        assert status == 202, body
        served_by.append(headers["X-Upstream"])
        location = headers["Location"]
    data = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    sep = "&" if "?" in location else "?"
    status, headers, body = request("PUT", f"{base}{location}{sep}digest={digest}")
    assert status == 201, body
    served_by.append(headers["X-Upstream"])
    # Round robin without stickiness: the session's requests went to every replica.
    assert set(served_by) == {f"127.0.0.1:{r.port}" for r in replicas.replicas}
    for member in replicas.replicas:
        status, _, got = request("GET", f"{member.url}/v2/spread/blobs/{digest}")
        assert status == 200
        assert got == data


def _push_manifest(url: str, name: str, tag: str, label: str) -> str:
    config = json.dumps({"label": label}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    status, _, body = request(
        "POST", f"{url}/v2/{name}/blobs/uploads/?digest={config_digest}", config
    )
    assert status == 201, body
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    status, headers, body = request(
        "PUT", f"{url}/v2/{name}/manifests/{tag}", manifest, {"Content-Type": OCI_MANIFEST}
    )
    assert status == 201, body
    return headers["Docker-Content-Digest"]


def _tag_digest(url: str, name: str, tag: str) -> str | None:
    status, headers, _ = request(
        "GET", f"{url}/v2/{name}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
    )
    return headers["Docker-Content-Digest"] if status == 200 else None


def _seconds_until(readers: list[str], name: str, tag: str, expected: str | None) -> float:
    """Poll every reader until all answer `expected`; the time that took (fails after 15 s)."""
    start = time.monotonic()
    pending = set(readers)
    while pending:
        pending = {url for url in pending if _tag_digest(url, name, tag) != expected}
        elapsed = time.monotonic() - start
        assert elapsed < 15, f"{sorted(pending)} still serve a stale {tag} after {elapsed:.1f}s"
    return time.monotonic() - start


def test_caches_serve_no_stale_tag_beyond_the_documented_bound(replicas: Cluster) -> None:
    writer, *readers = [m.url for m in replicas.replicas]
    first = _push_manifest(writer, "moving", "latest", "one")
    # Warm the readers' caches with the first digest.
    assert [_tag_digest(url, "moving", "latest") for url in readers] == [first, first]
    second = _push_manifest(writer, "moving", "latest", "two")
    assert _tag_digest(writer, "moving", "latest") == second  # the writer reads its own write
    moved = _seconds_until(readers, "moving", "latest", second)
    status, _, _ = request("DELETE", f"{writer}/v2/moving/manifests/{second}")
    assert status == 202
    deleted = _seconds_until(readers, "moving", "latest", None)
    print(f"\nreplica staleness: tag moved seen in {moved:.2f}s, delete in {deleted:.2f}s")
    # The bound is the TTL; the margin covers the polling requests on a loaded 2-core VM.
    assert moved <= CACHE_TTL + 1.0
    assert deleted <= CACHE_TTL + 1.0


@dataclass
class Tally:
    """Operations, failures and retries of the skopeo stream, updated by its threads."""

    operations: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    done: threading.Condition = field(default_factory=threading.Condition)


def _skopeo(tmp: Path, tally: Tally, *args: str, attempts: int = 3) -> None:
    """One operation: a skopeo copy, run again (up to `attempts`) if it fails.

    skopeo's own --retry-times covers only errors it deems transient (a refused connection);
    a blob body cut off by the dying replica is an "unexpected EOF" that it does not retry, so
    the operation is retried here, as a CI job's retry step would.  Both kinds are counted.
    """
    for attempt in range(attempts):
        result = subprocess.run(
            [require_tool("skopeo"), "--insecure-policy", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "HOME": str(tmp), "TMPDIR": str(tmp)},
        )
        with tally.done:
            # containers/common's retry logs one "retrying in" warning per extra attempt.
            tally.retries += result.stderr.count("retrying in") + (attempt > 0)
            if result.returncode == 0:
                break
            tally.errors.append(f"skopeo {' '.join(args)}:\n{result.stderr}")
    with tally.done:
        tally.operations += 1
        if result.returncode != 0:
            tally.failures.append(tally.errors[-1])
        tally.done.notify_all()


def _stream(tmp: Path, lb: str, worker: int, rounds: int, tally: Tally) -> None:
    """Push an image of its own, then pull it back, `rounds` times (2 operations each)."""
    retry = ("--retry-times", "5")
    for n in range(rounds):
        source, pulled = tmp / f"src-{worker}-{n}", tmp / f"pull-{worker}-{n}"
        build_oci_layout(source, "v1", layers=2, unit=3 << 20)
        ref = f"docker://{lb}/stream/w{worker}:r{n}"
        _skopeo(tmp, tally, "copy", *retry, "--dest-tls-verify=false", f"oci:{source}:v1", ref)
        _skopeo(tmp, tally, "copy", *retry, "--src-tls-verify=false", ref, f"oci:{pulled}:v1")
        blobs = {p.name for p in (source / "blobs" / "sha256").iterdir()}
        if (pulled / "blobs").exists():
            got = {p.name for p in (pulled / "blobs" / "sha256").iterdir()}
            if got != blobs:
                with tally.done:
                    tally.failures.append(f"{ref}: pulled blobs differ")


def _serving(port: int) -> bool:
    """True if a TCP connection to 127.0.0.1:port is established (read from /proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        return any(
            fields[1] == local and fields[3] == "01" for fields in (line.split() for line in table)
        )


def test_killing_a_replica_during_skopeo_traffic_fails_no_retried_operation(
    replicas: Cluster, tmp_path: Path
) -> None:
    tally, workers, rounds = Tally(), 3, 4
    threads = [
        threading.Thread(target=_stream, args=(tmp_path, replicas.lb, w, rounds, tally))
        for w in range(workers)
    ]
    for thread in threads:
        thread.start()
    victim = replicas.replicas[1]
    with tally.done:
        assert tally.done.wait_for(lambda: tally.operations >= 2, timeout=300)
    # Kill while the victim is serving a request: nginx keeps no idle upstream connections,
    # so an established connection to its port is a request in flight.
    deadline, tick = time.monotonic() + 120, threading.Event()
    while not _serving(victim.port) and time.monotonic() < deadline:
        tick.wait(0.002)  # poll interval only: leave the 2 cores to the replicas
    victim.kill()
    for thread in threads:
        thread.join(timeout=600)
    nginx = replicas.root.parent / "nginx"
    statuses = Counter(line.split('"')[2].split()[0] for line in (nginx / "access.log").open())
    # Upstream errors nginx met: a refused connection or a request cut off by the kill (a
    # request cut off before its response header was sent goes to the next replica).
    rerouted = (nginx / "error.log").read_text().count("[error]")
    print(
        f"\nreplica kill: operations={tally.operations} failures={len(tally.failures)} "
        f"retries={tally.retries} nginx upstream errors={rerouted} "
        f"HTTP statuses={dict(sorted(statuses.items()))}"
    )
    assert tally.operations == workers * rounds * 2
    assert tally.failures == []
    for error in tally.errors:
        print(error.splitlines()[-1])
