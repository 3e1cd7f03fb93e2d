"""An S3 server on loopback for the tests: moto's standalone server, one per test session.

``.ci/run`` starts one and exports ``REGISTRY_TEST_S3_ENDPOINT``; without it the session fixture
starts its own on an ephemeral port. moto keeps objects in memory: keep test blobs modest.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from registry.storage.s3 import S3Settings
from tests.support import free_port, require_interop, wait_for_port

ENDPOINT_ENV = "REGISTRY_TEST_S3_ENDPOINT"
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """Where the test S3 server listens."""

    endpoint: str

    def settings(self, bucket: str, **overrides: object) -> S3Settings:
        """Driver settings for a bucket on this server (path-style, plain HTTP)."""
        base = S3Settings(
            bucket=bucket,
            region=REGION,
            regionendpoint=self.endpoint,
            accesskey=ACCESS_KEY,
            secretkey=SECRET_KEY,
            secure=False,
            forcepathstyle=True,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def new_bucket(self) -> str:
        """Create an empty bucket with a fresh name and return the name."""
        name = f"test-{secrets.token_hex(6)}"
        # CreateBucket with a plain PUT: moto does not check signatures, and a synchronous call
        # works from async fixtures too.
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=30) as resp:
            assert resp.status == 200
        return name


def storage_env(settings: S3Settings) -> dict[str, str]:
    """REGISTRY_STORAGE_S3_* variables naming a bucket on the test S3 server."""
    assert settings.regionendpoint and settings.accesskey and settings.secretkey
    return {
        "REGISTRY_STORAGE_S3_REGION": settings.region,
        "REGISTRY_STORAGE_S3_REGIONENDPOINT": settings.regionendpoint,
        "REGISTRY_STORAGE_S3_BUCKET": settings.bucket,
        "REGISTRY_STORAGE_S3_ACCESSKEY": settings.accesskey,
        "REGISTRY_STORAGE_S3_SECRETKEY": settings.secretkey,
        "REGISTRY_STORAGE_S3_ROOTDIRECTORY": settings.rootdirectory,
        "REGISTRY_STORAGE_S3_SECURE": str(settings.secure).lower(),
        "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": str(bool(settings.forcepathstyle)).lower(),
        "REGISTRY_STORAGE_S3_CHUNKSIZE": str(settings.chunksize),
    }


def distribution_s3_yaml(settings: S3Settings) -> str:
    """The `storage.s3` section of a Distribution 2.8 config.yml for the same bucket.

    2.8 has no `forcepathstyle`: it addresses buckets by path whenever regionendpoint is set.
    """
    return (
        "  s3:\n"
        f"    region: {settings.region}\n"
        f"    regionendpoint: {settings.regionendpoint}\n"
        f"    bucket: {settings.bucket}\n"
        f"    accesskey: {settings.accesskey}\n"
        f"    secretkey: {settings.secretkey}\n"
        f"    rootdirectory: {settings.rootdirectory or '/'}\n"
        f"    secure: {str(settings.secure).lower()}\n"
        "    v4auth: true\n"
        f"    chunksize: {settings.chunksize}\n"
    )


def distribution_env() -> dict[str, str]:
    """Environment of a Distribution process on the test S3 server.

    Its AWS SDK fails against moto when AWS_CA_BUNDLE is set (as it can be on CI machines),
    and must not pick up other AWS_* settings either.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


def moto_env() -> dict[str, str]:
    """Environment of the moto process: fake credentials, no CA bundle or proxy settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    return env


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """The session's S3 server (the one .ci/run started, or a moto server of our own)."""
    if endpoint := os.environ.get(ENDPOINT_ENV):
        yield S3Server(endpoint.rstrip("/"))
        return
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if require_interop():
            pytest.fail("moto[server] is not installed, and REQUIRE_INTEROP=1 forbids skipping")
        pytest.skip("moto[server] is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=moto_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_settings(s3_server: S3Server) -> S3Settings:
    """Driver settings for a fresh, empty bucket (chunks at S3's 5 MiB minimum)."""
    return s3_server.settings(
        s3_server.new_bucket(), rootdirectory="/registry-root", chunksize=5 << 20
    )
