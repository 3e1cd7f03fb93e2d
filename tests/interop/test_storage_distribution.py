"""Storage compatibility with Distribution 2.8 (Debian's docker-registry), both directions.

These drive the real `docker-registry` binary over the tree: Distribution serves what our stores
wrote, our stores serve (and resume uploads of) what Distribution wrote, and Distribution's own
garbage-collect agrees with ours about which blobs are unreferenced.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from registry.digest import Digest
from registry.storage import Storage
from registry.storage.gc import collect
from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}"


def write_config(root: Path, port: int, path: Path) -> None:
    # Our own config: Debian's default one silently enables htpasswd auth.
    path.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
    )


@dataclass
class Distribution:
    """A docker-registry process over a storage root."""

    url: str
    config: Path
    binary: str


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


@pytest.fixture
def distribution(tmp_path: Path, root: Path) -> Iterator[Distribution]:
    binary = require_tool("docker-registry")
    port = free_port()
    config = tmp_path / "config.yml"
    write_config(root, port, config)
    log = (tmp_path / "distribution.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield Distribution(f"http://127.0.0.1:{port}", config, binary)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def descriptor(media_type: str, content: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": str(Digest.of_bytes(content)), "size": len(content)}


def image_manifest(config: bytes, *layers: bytes) -> bytes:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer) for layer in layers],
    }
    return json.dumps(doc, indent=2).encode()


async def test_distribution_serves_our_tree(
    root: Path, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    name = "team/app"
    config, layer, big = b'{"architecture":"amd64"}', b"layer bytes", bytes(range(256)) * 20_000
    storage = Storage(root)
    try:
        for data in (config, layer):
            await storage.uploads.put_monolithic(name, Digest.of_bytes(data), chunks(data))
        state = await storage.uploads.create(name)
        await storage.uploads.append(name, state.id, chunks(big[:1_000_000]))
        await storage.uploads.commit(name, state.id, Digest.of_bytes(big), chunks(big[1_000_000:]))
        manifest = image_manifest(config, layer, big)
        m_digest = Digest.of_bytes(manifest)
        await storage.manifests.put(name, manifest, m_digest)
        await storage.tags.tag(name, "v1", m_digest)
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [descriptor(OCI_MANIFEST, manifest)]}
        ).encode()  # fmt: skip
        await storage.manifests.put(name, index, Digest.of_bytes(index))
        await storage.tags.tag(name, "multi", Digest.of_bytes(index))
        # An upload left half-way must not disturb Distribution either.
        pending = await storage.uploads.create(name)
        await storage.uploads.append(name, pending.id, chunks(b"half"))
    finally:
        await storage.aclose()

    port = free_port()
    write_config(root, port, tmp_path / "d.yml")
    binary = require_tool("docker-registry")
    proc = subprocess.Popen([binary, "serve", str(tmp_path / "d.yml")], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}/v2/{name}"
        for data in (config, layer, big):
            async with http.get(f"{base}/blobs/{Digest.of_bytes(data)}") as resp:
                assert resp.status == 200
                assert await resp.read() == data
        async with http.get(f"{base}/manifests/v1", headers={"Accept": ACCEPT}) as resp:
            assert resp.status == 200
            assert resp.headers["Docker-Content-Digest"] == str(m_digest)
            assert await resp.read() == manifest
        async with http.get(f"{base}/manifests/multi", headers={"Accept": ACCEPT}) as resp:
            assert resp.status == 200
            assert await resp.read() == index
        async with http.head(f"{base}/manifests/{m_digest}", headers={"Accept": ACCEPT}) as resp:
            assert resp.status == 200
        async with http.get(f"{base}/tags/list") as resp:
            assert sorted((await resp.json())["tags"]) == ["multi", "v1"]
        async with http.get(f"http://127.0.0.1:{port}/v2/_catalog") as resp:
            assert (await resp.json())["repositories"] == [name]
        # Distribution deletes through our links too.
        async with http.delete(f"{base}/manifests/{Digest.of_bytes(index)}") as resp:
            assert resp.status == 202
        async with http.get(f"{base}/tags/list") as resp:
            assert (await resp.json())["tags"] == ["v1"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def push_blob(http: aiohttp.ClientSession, base: str, data: bytes, *, chunked: bool) -> None:
    # Distribution 2.8 answers POST ?digest= with a plain 202, so both ways start with a POST.
    digest = Digest.of_bytes(data)
    location = await start_upload(http, base)
    rest = data
    if chunked:
        half = len(data) // 2
        headers = {"Content-Type": "application/octet-stream", "Content-Range": f"0-{half - 1}"}
        async with http.patch(location, data=data[:half], headers=headers) as resp:
            assert resp.status == 202, await resp.text()
            location = resp.headers["Location"]
        rest = data[half:]
    sep = "&" if "?" in location else "?"
    async with http.put(f"{location}{sep}digest={digest}", data=rest) as resp:
        assert resp.status == 201, await resp.text()


async def start_upload(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/blobs/uploads/") as resp:
        assert resp.status == 202, await resp.text()
        location = resp.headers["Location"]
    return location if location.startswith("http") else f"{base.split('/v2/')[0]}{location}"


async def test_we_serve_distributions_tree(
    distribution: Distribution, root: Path, http: aiohttp.ClientSession
) -> None:
    name = "upstream/img"
    base = f"{distribution.url}/v2/{name}"
    config, layer = b'{"os":"linux"}', bytes(range(256)) * 8_000
    await push_blob(http, base, config, chunked=False)
    await push_blob(http, base, layer, chunked=True)
    manifest = image_manifest(config, layer)
    headers = {"Content-Type": OCI_MANIFEST}
    async with http.put(f"{base}/manifests/stable", data=manifest, headers=headers) as resp:
        assert resp.status == 201, await resp.text()
    # An upload Distribution started (with its hashstates) that we will finish.
    location = await start_upload(http, base)
    async with http.patch(location, data=b"first half ") as resp:
        assert resp.status == 202
    upload_id = re.search(r"/blobs/uploads/([^/?]+)", location)
    assert upload_id is not None

    storage = Storage(root)
    try:
        assert await storage.repositories() == [name]
        assert await storage.tags.list(name) == ["stable"]
        m_digest = await storage.tags.resolve(name, "stable")
        assert m_digest == Digest.of_bytes(manifest)
        assert await storage.manifests.get(name, m_digest) == manifest
        for data in (config, layer):
            info = await storage.blobs.stat(name, Digest.of_bytes(data))
            assert info.size == len(data)
            assert storage.blobs.data_path(info.digest).read_bytes() == data
        state = await storage.uploads.status(name, upload_id.group(1))
        assert state.offset == len(b"first half ")
        whole = b"first half second half"
        info = await storage.uploads.commit(
            name, state.id, Digest.of_bytes(whole), chunks(b"second half")
        )
        assert storage.blobs.data_path(info.digest).read_bytes() == whole
        # Purging understands Distribution's startedat too (nothing is old enough here).
        assert await storage.uploads.purge(3600) == []
    finally:
        await storage.aclose()
    # Distribution serves the blob we finished in its tree.
    async with http.get(f"{base}/blobs/{Digest.of_bytes(whole)}") as resp:
        assert await resp.read() == whole


def distribution_gc(distribution: Distribution, *flags: str) -> set[str]:
    out = subprocess.run(
        [distribution.binary, "garbage-collect", *flags, str(distribution.config)],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(re.findall(r"blob eligible for deletion: (sha256:[0-9a-f]{64})", out.stdout))


async def test_garbage_collect_agrees_with_distribution(
    distribution: Distribution, root: Path
) -> None:
    storage = Storage(root)
    try:
        kept_layer, orphan = b"kept", b"orphan"
        for data in (kept_layer, orphan, b"{}"):
            await storage.uploads.put_monolithic("gc/test", Digest.of_bytes(data), chunks(data))
        manifest = image_manifest(b"{}", kept_layer)
        await storage.manifests.put("gc/test", manifest, Digest.of_bytes(manifest))
        await storage.tags.tag("gc/test", "latest", Digest.of_bytes(manifest))
        ours = await collect(storage, dry_run=True)
    finally:
        await storage.aclose()
    theirs = distribution_gc(distribution, "--dry-run")
    assert {str(d) for d in ours.deleted_blobs} == theirs == {str(Digest.of_bytes(orphan))}
