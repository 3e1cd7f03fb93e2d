"""S3 storage compatibility through real processes and a real client, both directions.

Distribution 2.8 (Debian's `docker-registry`, its `s3` driver: an independent S3 client) and
our `registry serve` take turns over one bucket on moto's S3 server: whatever `skopeo copy`
pushed into one is pulled back byte for byte from the other. Layers above the 5 MiB part size
make both sides use multipart uploads. Blob GETs redirect to presigned URLs on both sides
(Distribution's default), so skopeo also follows each registry's signatures to the S3 server.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from registry.storage.s3_settings import S3Settings
from tests.interop.test_storage_skopeo import REGISTRY, round_trip
from tests.s3support import distribution_env, distribution_s3_yaml, storage_env
from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop


@contextmanager
def distribution(settings: S3Settings, workdir: Path) -> Iterator[str]:
    """Distribution 2.8 with its s3 driver on the bucket, no auth."""
    binary = require_tool("docker-registry")
    port = free_port()
    config = workdir / f"distribution-{port}.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n{distribution_s3_yaml(settings)}  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
    )
    with (workdir / f"distribution-{port}.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", str(config)], env=distribution_env(), stdout=log, stderr=log
        )
        try:
            wait_for_port(port)
            yield f"127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def ours(settings: S3Settings, workdir: Path) -> Iterator[str]:
    """Our `registry serve` on the bucket, no auth."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env |= storage_env(settings) | {
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
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


def bound(kind: object, settings: S3Settings) -> object:
    """A (root, workdir) launcher as round_trip expects, serving the bucket instead of root."""

    @contextmanager
    def launch(_root: Path, workdir: Path) -> Iterator[str]:
        with kind(settings, workdir) as host:  # type: ignore[operator]
            yield host

    return launch


def test_ours_serves_what_distribution_wrote_to_s3(tmp_path: Path, s3_settings: S3Settings) -> None:
    round_trip(tmp_path, bound(distribution, s3_settings), bound(ours, s3_settings), unit=2_500_000)


def test_distribution_serves_what_we_wrote_to_s3(tmp_path: Path, s3_settings: S3Settings) -> None:
    round_trip(tmp_path, bound(ours, s3_settings), bound(distribution, s3_settings), unit=2_500_000)
