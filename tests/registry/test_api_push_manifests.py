"""OCI distribution spec "Push", manifests (end-7): validation, references, subject, tags."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.registry.api_support import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Client,
    descriptor,
    error_codes,
    image_manifest,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
async def test_put_manifest_by_tag(client: Client, media_type: str) -> None:
    image = await push_image(client, "repo", "v1", media_type=media_type)
    resp = await client.get("/v2/repo/manifests/v1")
    assert resp.headers["Docker-Content-Digest"] == image.digest
    assert resp.headers["Content-Type"] == media_type


async def test_put_manifest_response_headers(client: Client) -> None:
    config = await push_blob(client, "repo", b"{}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 2},
            "layers": [],
        }
    ).encode()
    resp = await put_manifest(client, "repo", "v1", body)
    assert resp.status == 201
    assert resp.headers["Location"] == f"/v2/repo/manifests/{sha256(body)}"
    assert resp.headers["Docker-Content-Digest"] == sha256(body)
    assert "OCI-Subject" not in resp.headers


async def test_put_manifest_by_digest(client: Client) -> None:
    image = await push_image(client, "repo", None)
    resp = await client.get(f"/v2/repo/manifests/{image.digest}")
    assert resp.status == 200
    tags = await client.get("/v2/repo/tags/list")
    assert (await tags.json())["tags"] == []


async def test_put_manifest_digest_mismatch(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    resp = await put_manifest(client, "repo", sha256(b"something else"), image.manifest)
    assert resp.status == 400
    assert await error_codes(resp) == ["DIGEST_INVALID"]


async def test_put_manifest_with_missing_blobs(client: Client) -> None:
    body = image_manifest(b"config", [b"layer one", b"layer two"])
    await push_blob(client, "repo", b"layer one")
    resp = await put_manifest(client, "repo", "v1", body)
    assert resp.status == 400
    body_json = await resp.json()
    assert await error_codes(resp) == ["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]
    missing = {error["detail"]["digest"] for error in body_json["errors"]}
    assert missing == {sha256(b"config"), sha256(b"layer two")}
    assert (await client.get("/v2/repo/manifests/v1")).status == 404


async def test_blobs_of_another_repository_do_not_count(client: Client) -> None:
    image = await push_image(client, "one", "v1")
    resp = await put_manifest(client, "two", "v1", image.manifest)
    assert resp.status == 400
    assert set(await error_codes(resp)) == {"MANIFEST_BLOB_UNKNOWN"}


@pytest.mark.parametrize("index_type", [OCI_INDEX, DOCKER_LIST])
async def test_put_index_requires_children(client: Client, index_type: str) -> None:
    child_type = OCI_MANIFEST if index_type == OCI_INDEX else DOCKER_MANIFEST
    child = await push_image(client, "repo", None, media_type=child_type)
    missing_child = descriptor(child_type, b"not pushed")
    index: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": index_type,
        "manifests": [
            {
                "mediaType": child_type,
                "digest": child.digest,
                "size": len(child.manifest),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            missing_child,
        ],
    }
    resp = await put_manifest(client, "repo", "multi", json.dumps(index).encode(), index_type)
    assert resp.status == 400
    assert (await resp.json())["errors"][0]["detail"] == {"digest": missing_child["digest"]}
    index["manifests"].pop()
    ok = await put_manifest(client, "repo", "multi", json.dumps(index).encode(), index_type)
    assert ok.status == 201, await ok.text()


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (
            b'{"schemaVersion": 1, "name": "repo", "tag": "v1", "fsLayers": []}',
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "schema 1 is not supported",
        ),
        (b'{"schemaVersion": 1, "fsLayers": []}', "application/json", "schema 1 is not supported"),
        (b"not json", OCI_MANIFEST, "not valid JSON"),
        (
            b'{"schemaVersion": 2, "mediaType": "' + OCI_INDEX.encode() + b'", "manifests": []}',
            OCI_MANIFEST,
            "does not match Content-Type",
        ),
        (b'{"schemaVersion": 2, "manifests": []}', OCI_MANIFEST, "has no 'manifests'"),
        (b'{"schemaVersion": 2, "config": {}}', "text/plain", "unsupported manifest media type"),
    ],
)
async def test_invalid_manifests_are_manifest_invalid(
    client: Client, body: bytes, content_type: str, fragment: str
) -> None:
    resp = await put_manifest(client, "repo", "v1", body, content_type)
    assert resp.status == 400
    payload = await resp.json()
    assert payload["errors"][0]["code"] == "MANIFEST_INVALID"
    assert fragment in payload["errors"][0]["message"]


async def test_manifest_size_cap(client: Client) -> None:
    config = await push_blob(client, "repo", b"{}")
    padding = "x" * (4 << 20)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 2},
            "layers": [],
            "annotations": {"pad": padding},
        }
    ).encode()
    resp = await put_manifest(client, "repo", "big", body)
    assert resp.status == 400
    assert await error_codes(resp) == ["MANIFEST_INVALID"]

    async def chunked() -> Any:
        yield body  # no Content-Length: the bounded read stops it

    streamed = await client.put(
        "/v2/repo/manifests/big", data=chunked(), headers={"Content-Type": OCI_MANIFEST}
    )
    assert streamed.status == 400
    assert await error_codes(streamed) == ["MANIFEST_INVALID"]


async def test_artifact_with_subject_answers_oci_subject(client: Client) -> None:
    subject = await push_image(client, "repo", "v1")
    empty = await push_blob(client, "repo", b"{}")
    artifact = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": OCI_EMPTY, "digest": empty, "size": 2},
        "layers": [{"mediaType": OCI_EMPTY, "digest": empty, "size": 2}],
        "subject": {
            "mediaType": OCI_MANIFEST,
            "digest": subject.digest,
            "size": len(subject.manifest),
        },
    }
    body = json.dumps(artifact).encode()
    resp = await put_manifest(client, "repo", sha256(body), body)
    assert resp.status == 201
    assert resp.headers["OCI-Subject"] == subject.digest


async def test_subject_need_not_exist(client: Client) -> None:
    empty = await push_blob(client, "repo", b"{}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sig",
            "config": {"mediaType": OCI_EMPTY, "digest": empty, "size": 2},
            "layers": [],
            "subject": descriptor(OCI_MANIFEST, b"absent manifest"),
        }
    ).encode()
    resp = await put_manifest(client, "repo", sha256(body), body)
    assert resp.status == 201
    assert resp.headers["OCI-Subject"] == sha256(b"absent manifest")


async def test_retag_and_concurrent_tag_puts(client: Client) -> None:
    images = [await push_image(client, "repo", None, layers=[bytes([i])]) for i in range(5)]
    responses = await asyncio.gather(
        *(put_manifest(client, "repo", "latest", image.manifest) for image in images)
    )
    assert {r.status for r in responses} == {201}
    resp = await client.get("/v2/repo/manifests/latest")
    assert resp.headers["Docker-Content-Digest"] in {image.digest for image in images}
    assert await resp.read() in {image.manifest for image in images}
    # A later push moves the tag, and the lookup cache does not hide it.
    final = await put_manifest(client, "repo", "latest", images[0].manifest)
    assert final.status == 201
    again = await client.get("/v2/repo/manifests/latest")
    assert again.headers["Docker-Content-Digest"] == images[0].digest
