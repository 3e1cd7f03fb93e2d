"""Helpers for the registry API tests: configs, push helpers and envelope checks.

The client fixtures that use them (`client`, `make_client`) are in conftest.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from registry.config import Config, StorageConfig, UploadPurgingConfig

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ALL_MANIFESTS = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])

Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]


def sha256(data: bytes) -> str:
    """The digest string of data."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def registry_config(root: Path, **storage: Any) -> Config:
    """A Config over root with deletes on and the upload purger off (tests drive purges)."""
    base = StorageConfig(
        rootdirectory=root,
        delete_enabled=True,
        uploadpurging=UploadPurgingConfig(enabled=False),
    )
    return Config(storage=replace(base, **storage))


async def push_blob(client: Client, name: str, data: bytes) -> str:
    """Upload data monolithically (POST ?digest=) and return its digest."""
    digest = sha256(data)
    resp = await client.post(f"/v2/{name}/blobs/uploads/?digest={digest}", data=data)
    assert resp.status == 201, await resp.text()
    return digest


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    """An OCI descriptor for data."""
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class Image:
    """A pushed image: manifest bytes and digest, config and layers."""

    manifest: bytes
    digest: str
    config: bytes
    layers: list[bytes]


def image_manifest(
    config: bytes, layers: list[bytes], *, media_type: str = OCI_MANIFEST, **extra: Any
) -> bytes:
    """Manifest JSON bytes for a config and layers."""
    docker = media_type == DOCKER_MANIFEST
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config),
        "layers": [descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer) for layer in layers],
        **extra,
    }
    return json.dumps(doc).encode()


async def put_manifest(
    client: Client, name: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST
) -> Any:
    """PUT a manifest and return the response."""
    return await client.put(
        f"/v2/{name}/manifests/{reference}", data=body, headers={"Content-Type": media_type}
    )


async def push_image(
    client: Client,
    name: str,
    tag: str | None = "latest",
    *,
    layers: list[bytes] | None = None,
    media_type: str = OCI_MANIFEST,
    **extra: Any,
) -> Image:
    """Push blobs and a manifest (by tag, or by digest when tag is None)."""
    layers = layers if layers is not None else [b"layer-" + name.encode()]
    config = json.dumps({"architecture": "amd64", "os": "linux", "name": name}).encode()
    for blob in [config, *layers]:
        await push_blob(client, name, blob)
    body = image_manifest(config, layers, media_type=media_type, **extra)
    digest = sha256(body)
    resp = await put_manifest(client, name, tag or digest, body, media_type)
    assert resp.status == 201, await resp.text()
    return Image(body, digest, config, layers)


async def error_codes(resp: Any) -> list[str]:
    """The codes of an error envelope, checking its shape (spec "Error Codes")."""
    body = await resp.json()
    assert set(body) == {"errors"}
    for error in body["errors"]:
        assert set(error) == {"code", "message", "detail"}
        assert isinstance(error["message"], str) and error["message"]
    return [error["code"] for error in body["errors"]]
