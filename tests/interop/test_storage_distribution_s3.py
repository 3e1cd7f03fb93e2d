"""S3 storage compatibility with Distribution 2.8's s3 driver beyond skopeo round trips:
our stores finish an upload Distribution started (its open multipart upload), and
Distribution's garbage-collect agrees with ours on one bucket."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from registry.digest import Digest
from registry.storage import Storage
from registry.storage.gc import collect
from registry.storage.s3 import S3Driver
from registry.storage.s3_settings import S3Settings
from tests.interop.test_storage_distribution import (
    Distribution,
    chunks,
    image_manifest,
    push_blob,
    start_upload,
)
from tests.s3support import distribution_env, distribution_s3_yaml
from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop


@pytest.fixture
def distribution(tmp_path: Path, s3_settings: S3Settings) -> Iterator[Distribution]:
    binary = require_tool("docker-registry")
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n{distribution_s3_yaml(s3_settings)}"
        "  delete:\n    enabled: true\n  redirect:\n    disable: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
    )
    with (tmp_path / "distribution.log").open("wb") as log:
        proc = subprocess.Popen(
            [binary, "serve", str(config)], env=distribution_env(), stdout=log, stderr=log
        )
        try:
            wait_for_port(port)
            yield Distribution(f"http://127.0.0.1:{port}", config, binary)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
async def storage(s3_settings: S3Settings) -> AsyncIterator[Storage]:
    st = Storage(Path("unused"), driver=S3Driver(s3_settings), delete_enabled=True)
    yield st
    await st.aclose()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_we_finish_an_upload_distribution_started(
    distribution: Distribution, storage: Storage, http: aiohttp.ClientSession
) -> None:
    name = "upstream/img"
    base = f"{distribution.url}/v2/{name}"
    layer = bytes(range(256)) * 30_000  # 7.3 MB: a multipart push on Distribution's side
    await push_blob(http, base, layer, chunked=True)
    location = await start_upload(http, base)
    first = b"first half, " * 1000
    async with http.patch(location, data=first) as resp:
        assert resp.status == 202, await resp.text()
    found = re.search(r"/blobs/uploads/([^/?]+)", location)
    assert found is not None

    info = await storage.blobs.stat(name, Digest.of_bytes(layer))
    assert info.size == len(layer)
    # Distribution's upload in progress is its open multipart upload: we see its size...
    state = await storage.uploads.status(name, found.group(1))
    assert state.offset == len(first)
    # ...and finish it (appending rebases Distribution's small last part).
    whole = first + b"second half"
    done = await storage.uploads.commit(
        name, state.id, Digest.of_bytes(whole), chunks(b"second half")
    )
    assert done.size == len(whole)
    async with http.get(f"{base}/blobs/{Digest.of_bytes(whole)}") as resp:
        assert resp.status == 200
        assert await resp.read() == whole


async def test_garbage_collect_agrees_with_distribution_on_s3(
    distribution: Distribution, storage: Storage
) -> None:
    kept_layer, orphan = b"kept", b"orphan"
    for data in (kept_layer, orphan, b"{}"):
        await storage.uploads.put_monolithic("gc/test", Digest.of_bytes(data), chunks(data))
    manifest = image_manifest(b"{}", kept_layer)
    await storage.manifests.put("gc/test", manifest, Digest.of_bytes(manifest))
    await storage.tags.tag("gc/test", "latest", Digest.of_bytes(manifest))
    ours = await collect(storage, dry_run=True)
    out = subprocess.run(
        [distribution.binary, "garbage-collect", "--dry-run", str(distribution.config)],
        capture_output=True,
        text=True,
        check=True,
        env=distribution_env(),
    )
    theirs = set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", out.stdout))
    assert {str(d) for d in ours.deleted_blobs} == theirs == {str(Digest.of_bytes(orphan))}
