"""Storage compatibility through real processes and a real client: either registry serves
the tree the other wrote, since ours lays it out as Distribution's filesystem driver does.

Distribution 2.8 (Debian's `docker-registry`) and our `registry serve` take turns over one
storage root: whatever `skopeo copy` pushed into one is pulled back byte for byte from the
other, in both directions.  The image is an OCI layout built here with random gzip layers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop

REGISTRY = str(Path(sys.executable).parent / "registry")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE = "compat/team/image"


def _write_blob(layout: Path, data: bytes) -> str:
    hexdigest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / hexdigest).write_bytes(data)
    return f"sha256:{hexdigest}"


def build_oci_layout(layout: Path, tag: str, layers: int = 3, unit: int = 200_000) -> None:
    """An OCI image layout with `layers` gzip'd tar layers of random content.

    Layer i holds `unit * (i + 1)` random bytes.
    """
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descriptors, diff_ids = [], []
    for i in range(layers):
        payload = os.urandom(unit * (i + 1))
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            info = tarfile.TarInfo(f"file{i}.bin")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        diff_ids.append("sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
        compressed = gzip.compress(raw.getvalue(), mtime=0)
        descriptors.append(
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": _write_blob(layout, compressed),
                "size": len(compressed),
            }
        )
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _write_blob(layout, config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": _write_blob(layout, manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))


def blobs_of(layout: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}


@contextmanager
def distribution(root: Path, workdir: Path) -> Iterator[str]:
    """Distribution 2.8 over root, no auth, with our own config (Debian's enables htpasswd)."""
    binary = require_tool("docker-registry")
    port = free_port()
    config = workdir / f"distribution-{port}.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
    )
    with (workdir / f"distribution-{port}.log").open("wb") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
        try:
            wait_for_port(port)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def ours(root: Path, workdir: Path) -> Iterator[str]:
    """Our `registry serve` over root, no auth."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root),
        "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        "REGISTRY_LOG_LEVEL": "warn",
    }
    with (workdir / f"ours-{port}.log").open("wb") as log:
        proc = subprocess.Popen([REGISTRY, "serve"], env=env, stdout=log, stderr=log)
        try:
            wait_for_port(port)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def skopeo(*args: str) -> str:
    binary = require_tool("skopeo")
    result = subprocess.run(
        [binary, "--insecure-policy", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"skopeo {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def round_trip(tmp_path: Path, writer: object, reader: object, *, unit: int = 200_000) -> None:
    """Push with `writer` serving the root, pull with `reader` serving it; compare bytes."""
    source, pulled, root = tmp_path / "source", tmp_path / "pulled", tmp_path / "root"
    build_oci_layout(source, "v1", unit=unit)
    tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
    with writer(root, tmp_path) as host:  # type: ignore[operator]
        skopeo("copy", tls[1], f"oci:{source}:v1", f"docker://{host}/{IMAGE}:v1")
    with reader(root, tmp_path) as host:  # type: ignore[operator]
        raw = skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{host}/{IMAGE}:v1")
        tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{host}/{IMAGE}"))
        skopeo("copy", tls[0], f"docker://{host}/{IMAGE}:v1", f"oci:{pulled}:v1")
    assert tags["Tags"] == ["v1"]
    original = blobs_of(source)
    assert raw.encode() in original.values()
    assert blobs_of(pulled) == original


def test_ours_serves_what_distribution_wrote(tmp_path: Path) -> None:
    round_trip(tmp_path, distribution, ours)


def test_distribution_serves_what_we_wrote(tmp_path: Path) -> None:
    round_trip(tmp_path, ours, distribution)
