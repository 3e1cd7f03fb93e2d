"""A minimal OCI distribution client (aiohttp) for the load generator: blob push/pull, manifests.

It speaks only what the workloads time: monolithic upload (POST, then PUT ?digest= with the whole
body), chunked upload (POST, PATCHes with Content-Range, then PUT ?digest=), blob GET, and a
manifest PUT for the small image that R1 reads (OCI distribution-spec, "Pushing blobs").
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
from collections.abc import AsyncIterator, Mapping

import aiohttp
from yarl import URL

from bench.content import Content

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCTET = "application/octet-stream"


class RegistryClientError(RuntimeError):
    """A registry answered something other than the status the spec prescribes."""


async def _expect(resp: aiohttp.ClientResponse, status: int, what: str) -> None:
    if resp.status != status:
        body = (await resp.read())[:300].decode("utf-8", "replace")
        raise RegistryClientError(f"{what}: HTTP {resp.status} (wanted {status}): {body}")


def _location(resp: aiohttp.ClientResponse, base: str) -> str:
    location = resp.headers.get("Location")
    if not location:
        raise RegistryClientError(f"{resp.method} {resp.url.path}: no Location header")
    return urllib.parse.urljoin(base, location)


def _with_digest(location: str, digest: str) -> URL:
    # Distribution's Location carries an opaque, already-encoded _state; append, don't rebuild.
    sep = "&" if "?" in location else "?"
    return URL(f"{location}{sep}digest={urllib.parse.quote(digest, safe='')}", encoded=True)


async def start_upload(session: aiohttp.ClientSession, base: str, name: str, auth: str) -> str:
    """POST /v2/<name>/blobs/uploads/ and return the absolute upload URL."""
    async with session.post(
        f"{base}/v2/{name}/blobs/uploads/",
        headers={"Authorization": auth, "Content-Length": "0"},
    ) as resp:
        await _expect(resp, 202, "start upload")
        return _location(resp, base)


async def upload_monolithic(
    session: aiohttp.ClientSession,
    base: str,
    name: str,
    auth: str,
    body: AsyncIterator[bytes | memoryview],
    size: int,
    digest: str,
) -> None:
    """POST to open an upload, then PUT ?digest= with the whole blob as the body."""
    location = await start_upload(session, base, name, auth)
    headers = {"Authorization": auth, "Content-Type": OCTET, "Content-Length": str(size)}
    async with session.put(_with_digest(location, digest), data=body, headers=headers) as resp:
        await _expect(resp, 201, "PUT blob")


async def upload_chunked(
    session: aiohttp.ClientSession,
    base: str,
    name: str,
    auth: str,
    content: Content,
    size: int,
    nonce: bytes,
    digest: str,
    parts: int = 3,
) -> None:
    """POST, ``parts`` PATCHes with Content-Range (inclusive ends), then an empty PUT ?digest=."""
    location = await start_upload(session, base, name, auth)
    step = -(-size // parts)
    for start in range(0, size, step):
        end = min(start + step, size)
        headers = {
            "Authorization": auth,
            "Content-Type": OCTET,
            "Content-Length": str(end - start),
            "Content-Range": f"{start}-{end - 1}",
        }
        body = content.stream(size, nonce, start, end)
        async with session.patch(URL(location, encoded=True), data=body, headers=headers) as resp:
            await _expect(resp, 202, f"PATCH {start}-{end - 1}")
            location = _location(resp, base)
    headers = {"Authorization": auth, "Content-Length": "0"}
    async with session.put(_with_digest(location, digest), headers=headers) as resp:
        await _expect(resp, 201, "PUT (close upload)")


async def download(
    session: aiohttp.ClientSession, base: str, name: str, auth: str, digest: str
) -> int:
    """GET a blob, reading it in large chunks and discarding them; return the byte count."""
    total = 0
    async with session.get(
        f"{base}/v2/{name}/blobs/{digest}", headers={"Authorization": auth}
    ) as resp:
        await _expect(resp, 200, "GET blob")
        async for chunk in resp.content.iter_any():
            total += len(chunk)
    return total


async def put_bytes(
    session: aiohttp.ClientSession, base: str, name: str, auth: str, data: bytes
) -> str:
    """Upload small bytes monolithically; return their digest."""
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"

    async def body() -> AsyncIterator[bytes]:
        yield data

    await upload_monolithic(session, base, name, auth, body(), len(data), digest)
    return digest


async def push_small_image(
    session: aiohttp.ClientSession, base: str, name: str, tag: str, auth: str
) -> Mapping[str, object]:
    """Push a config blob, one 4 KiB layer and an OCI manifest tagged ``tag``."""
    layer = os.urandom(4096)
    layer_digest = await put_bytes(session, base, name, auth, layer)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    config_digest = await put_bytes(session, base, name, auth, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
        }
    ).encode()
    async with session.put(
        f"{base}/v2/{name}/manifests/{tag}",
        data=manifest,
        headers={"Authorization": auth, "Content-Type": OCI_MANIFEST},
    ) as resp:
        await _expect(resp, 201, "PUT manifest")
        return {"digest": resp.headers.get("Docker-Content-Digest", ""), "size": len(manifest)}
