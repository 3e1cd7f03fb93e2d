"""OCI distribution spec "Pull" workflow: /v2/, manifests and blobs (end-1, end-2, end-3)."""

from __future__ import annotations

import pytest

from tests.registry.api_support import (
    ALL_MANIFESTS,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Client,
    error_codes,
    push_image,
    sha256,
)

API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


async def test_base_endpoint_answers_200_with_api_version(client: Client) -> None:
    resp = await client.get("/v2/")
    assert resp.status == 200
    assert await resp.json() == {}
    assert resp.headers[API_VERSION[0]] == API_VERSION[1]


@pytest.mark.parametrize("by", ["tag", "digest"])
async def test_get_manifest_by_tag_and_digest(client: Client, by: str) -> None:
    image = await push_image(client, "library/alpine", "3.19")
    reference = "3.19" if by == "tag" else image.digest
    resp = await client.get(
        f"/v2/library/alpine/manifests/{reference}", headers={"Accept": ALL_MANIFESTS}
    )
    assert resp.status == 200
    assert await resp.read() == image.manifest
    assert resp.headers["Content-Type"] == OCI_MANIFEST
    assert resp.headers["Docker-Content-Digest"] == image.digest
    assert resp.headers["ETag"] == f'"{image.digest}"'
    assert resp.headers["Content-Length"] == str(len(image.manifest))
    assert resp.headers[API_VERSION[0]] == API_VERSION[1]


async def test_head_manifest_sends_headers_only(client: Client) -> None:
    image = await push_image(client, "repo", "v1", media_type=DOCKER_MANIFEST)
    resp = await client.head("/v2/repo/manifests/v1")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers["Content-Length"] == str(len(image.manifest))
    assert resp.headers["Content-Type"] == DOCKER_MANIFEST
    assert resp.headers["Docker-Content-Digest"] == image.digest


async def test_manifest_if_none_match_gives_304(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    resp = await client.get("/v2/repo/manifests/v1", headers={"If-None-Match": f'"{image.digest}"'})
    assert resp.status == 304
    assert await resp.read() == b""
    other = await client.get("/v2/repo/manifests/v1", headers={"If-None-Match": '"sha256:00"'})
    assert other.status == 200


async def test_manifest_accept_negotiation(client: Client) -> None:
    await push_image(client, "repo", "oci")
    refused = await client.get("/v2/repo/manifests/oci", headers={"Accept": DOCKER_MANIFEST})
    assert refused.status == 404
    assert await error_codes(refused) == ["MANIFEST_UNKNOWN"]
    for accept in (OCI_MANIFEST, f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5", "*/*"):
        resp = await client.get("/v2/repo/manifests/oci", headers={"Accept": accept})
        assert resp.status == 200, accept
    # Several Accept headers count together.
    resp = await client.get(
        "/v2/repo/manifests/oci", headers=[("Accept", DOCKER_MANIFEST), ("Accept", OCI_MANIFEST)]
    )
    assert resp.status == 200


@pytest.mark.parametrize(
    ("path", "code", "status"),
    [
        ("/v2/repo/manifests/missing", "MANIFEST_UNKNOWN", 404),
        ("/v2/nothere/manifests/latest", "MANIFEST_UNKNOWN", 404),
        (f"/v2/repo/manifests/{sha256(b'nope')}", "MANIFEST_UNKNOWN", 404),
        ("/v2/repo/manifests/sha256:" + "a" * 40, "DIGEST_INVALID", 400),
        (f"/v2/repo/blobs/{sha256(b'nope')}", "BLOB_UNKNOWN", 404),
        ("/v2/repo/blobs/sha256:" + "A" * 64, "DIGEST_INVALID", 400),
        ("/v2/repo/blobs/md5:" + "a" * 32, "DIGEST_INVALID", 400),
    ],
)
async def test_pull_errors(client: Client, path: str, code: str, status: int) -> None:
    await push_image(client, "repo", "v1")
    resp = await client.get(path)
    assert resp.status == status
    assert await error_codes(resp) == [code]
    assert resp.headers[API_VERSION[0]] == API_VERSION[1]


async def test_get_blob_streams_content_with_headers(client: Client) -> None:
    layer = bytes(range(256)) * 4096  # 1 MiB
    image = await push_image(client, "repo", "v1", layers=[layer])
    digest = sha256(layer)
    resp = await client.get(f"/v2/repo/blobs/{digest}")
    assert resp.status == 200
    assert await resp.read() == layer
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.headers["ETag"] == f'"{digest}"'
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Length"] == str(len(layer))
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert image.layers == [layer]


async def test_head_blob(client: Client) -> None:
    await push_image(client, "repo", "v1", layers=[b"0123456789"])
    resp = await client.head(f"/v2/repo/blobs/{sha256(b'0123456789')}")
    assert resp.status == 200
    assert resp.headers["Content-Length"] == "10"
    assert resp.headers["Docker-Content-Digest"] == sha256(b"0123456789")
    assert await resp.read() == b""
    missing = await client.head(f"/v2/repo/blobs/{sha256(b'other')}")
    assert missing.status == 404


@pytest.mark.parametrize(
    ("range_header", "body", "content_range"),
    [
        ("bytes=0-3", b"0123", "bytes 0-3/10"),
        ("bytes=4-", b"456789", "bytes 4-9/10"),
        ("bytes=-2", b"89", "bytes 8-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
    ],
)
async def test_blob_range_gives_206(
    client: Client, range_header: str, body: bytes, content_range: str
) -> None:
    await push_image(client, "repo", "v1", layers=[b"0123456789"])
    resp = await client.get(
        f"/v2/repo/blobs/{sha256(b'0123456789')}", headers={"Range": range_header}
    )
    assert resp.status == 206
    assert await resp.read() == body
    assert resp.headers["Content-Range"] == content_range
    assert resp.headers["Docker-Content-Digest"] == sha256(b"0123456789")
    assert resp.headers["ETag"] == f'"{sha256(b"0123456789")}"'


async def test_blob_unsatisfiable_range_gives_416(client: Client) -> None:
    await push_image(client, "repo", "v1", layers=[b"0123456789"])
    resp = await client.get(
        f"/v2/repo/blobs/{sha256(b'0123456789')}", headers={"Range": "bytes=20-30"}
    )
    assert resp.status == 416
    assert resp.headers["Content-Range"] == "bytes */10"


async def test_blob_if_none_match_gives_304(client: Client) -> None:
    await push_image(client, "repo", "v1", layers=[b"0123456789"])
    digest = sha256(b"0123456789")
    resp = await client.get(f"/v2/repo/blobs/{digest}", headers={"If-None-Match": f'"{digest}"'})
    assert resp.status == 304
    assert resp.headers["ETag"] == f'"{digest}"'


async def test_blob_is_scoped_to_its_repository(client: Client) -> None:
    await push_image(client, "one", "v1", layers=[b"private layer"])
    resp = await client.get(f"/v2/two/blobs/{sha256(b'private layer')}")
    assert resp.status == 404
    assert await error_codes(resp) == ["BLOB_UNKNOWN"]


async def test_index_is_served_with_its_media_type(client: Client) -> None:
    child = await push_image(client, "multi", None)
    index = (
        b'{"schemaVersion":2,"mediaType":"'
        + OCI_INDEX.encode()
        + b'","manifests":[{"mediaType":"'
        + OCI_MANIFEST.encode()
        + b'","digest":"'
        + child.digest.encode()
        + b'","size":'
        + str(len(child.manifest)).encode()
        + b',"platform":{"architecture":"amd64","os":"linux"}}]}'
    )
    put = await client.put(
        "/v2/multi/manifests/latest", data=index, headers={"Content-Type": OCI_INDEX}
    )
    assert put.status == 201, await put.text()
    resp = await client.get("/v2/multi/manifests/latest", headers={"Accept": OCI_INDEX})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == OCI_INDEX
    assert await resp.read() == index


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/repo/unknown/endpoint/here", 404),
        ("GET", "/v1/_ping", 404),
        ("POST", "/v2/", 405),
        ("PATCH", "/v2/repo/manifests/latest", 405),
    ],
)
async def test_unknown_routes_get_the_envelope(
    client: Client, method: str, path: str, status: int
) -> None:
    resp = await client.request(method, path)
    assert resp.status == status
    assert await error_codes(resp) == ["UNSUPPORTED"]
    assert resp.headers[API_VERSION[0]] == API_VERSION[1]


async def test_overlong_name_is_name_invalid(client: Client) -> None:
    name = "/".join(["a" * 60] * 5)  # 304 characters, each component valid
    resp = await client.get(f"/v2/{name}/tags/list")
    assert resp.status == 400
    assert await error_codes(resp) == ["NAME_INVALID"]


async def test_head_of_missing_manifest_has_no_body(client: Client) -> None:
    resp = await client.head("/v2/repo/manifests/missing")
    assert resp.status == 404
    assert await resp.read() == b""
