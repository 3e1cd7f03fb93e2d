"""OCI distribution spec "Push" workflow: uploads (end-4a/4b, 5, 6, 11, 13), manifests (end-7)."""

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
    ClientFactory,
    descriptor,
    error_codes,
    image_manifest,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)

DATA = bytes(range(256)) * 40  # 10240 bytes


async def start_upload(client: Client, name: str = "repo") -> str:
    resp = await client.post(f"/v2/{name}/blobs/uploads/")
    assert resp.status == 202
    return resp.headers["Location"]


async def test_start_upload_headers(client: Client) -> None:
    resp = await client.post("/v2/team/app/blobs/uploads/")
    assert resp.status == 202
    upload_id = resp.headers["Docker-Upload-UUID"]
    assert resp.headers["Location"] == f"/v2/team/app/blobs/uploads/{upload_id}"
    assert resp.headers["Range"] == "0-0"
    assert resp.headers["Content-Length"] == "0"


async def test_chunked_upload_in_order(client: Client) -> None:
    location = await start_upload(client)
    offset = 0
    for chunk in (DATA[:4000], DATA[4000:8000]):
        end = offset + len(chunk) - 1
        resp = await client.patch(
            location,
            data=chunk,
            headers={
                "Content-Range": f"{offset}-{end}",
                "Content-Type": "application/octet-stream",
            },
        )
        assert resp.status == 202, await resp.text()
        assert resp.headers["Range"] == f"0-{end}"
        assert resp.headers["Location"] == location
        assert resp.headers["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]
        offset = end + 1
        status = await client.get(location)
        assert status.status == 204
        assert status.headers["Range"] == f"0-{end}"
        assert status.headers["Location"] == location
    # The last chunk travels with the PUT (spec "Completed Upload").
    resp = await client.put(
        f"{location}?digest={sha256(DATA)}",
        data=DATA[8000:],
        headers={"Content-Range": f"8000-{len(DATA) - 1}"},
    )
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"] == f"/v2/repo/blobs/{sha256(DATA)}"
    assert resp.headers["Docker-Content-Digest"] == sha256(DATA)
    blob = await client.get(resp.headers["Location"])
    assert await blob.read() == DATA
    gone = await client.get(location)
    assert gone.status == 404
    assert await error_codes(gone) == ["BLOB_UPLOAD_UNKNOWN"]


async def test_streamed_patch_without_content_range(client: Client) -> None:
    location = await start_upload(client)

    async def body() -> Any:
        for i in range(0, len(DATA), 1000):
            yield DATA[i : i + 1000]

    resp = await client.patch(location, data=body())
    assert resp.status == 202
    assert resp.headers["Range"] == f"0-{len(DATA) - 1}"
    done = await client.put(f"{location}?digest={sha256(DATA)}")
    assert done.status == 201


@pytest.mark.parametrize("content_range", ["100-199", "bytes 100-199/*", "0-0"])
async def test_patch_out_of_order_gives_416(client: Client, content_range: str) -> None:
    location = await start_upload(client)
    first = await client.patch(location, data=DATA[:50], headers={"Content-Range": "0-49"})
    assert first.status == 202
    start, end = content_range.removeprefix("bytes ").split("/")[0].split("-")
    length = int(end) - int(start) + 1
    resp = await client.patch(
        location, data=DATA[:length], headers={"Content-Range": content_range}
    )
    assert resp.status == 416
    assert await error_codes(resp) == ["RANGE_INVALID"]
    assert resp.headers["Range"] == "0-49"
    assert resp.headers["Location"] == location
    # The upload is intact and resumes from the reported offset.
    status = await client.get(location)
    assert status.headers["Range"] == "0-49"


@pytest.mark.parametrize("content_range", ["garbage", "10-5", "-5"])
async def test_patch_malformed_content_range_gives_416(client: Client, content_range: str) -> None:
    location = await start_upload(client)
    resp = await client.patch(location, data=b"x", headers={"Content-Range": content_range})
    assert resp.status == 416
    assert await error_codes(resp) == ["RANGE_INVALID"]


async def test_patch_length_not_matching_range_is_size_invalid(client: Client) -> None:
    location = await start_upload(client)
    resp = await client.patch(location, data=b"abc", headers={"Content-Range": "0-9"})
    assert resp.status == 400
    assert await error_codes(resp) == ["SIZE_INVALID"]


async def test_put_with_wrong_start_gives_416(client: Client) -> None:
    location = await start_upload(client)
    await client.patch(location, data=b"abc", headers={"Content-Range": "0-2"})
    resp = await client.put(
        f"{location}?digest={sha256(b'abcdef')}", data=b"def", headers={"Content-Range": "4-6"}
    )
    assert resp.status == 416
    assert await error_codes(resp) == ["RANGE_INVALID"]
    assert resp.headers["Range"] == "0-2"
    assert resp.headers["Location"] == location
    # The upload is intact: the chunk can be sent again from the reported offset.
    done = await client.put(
        f"{location}?digest={sha256(b'abcdef')}", data=b"def", headers={"Content-Range": "3-5"}
    )
    assert done.status == 201


async def test_put_with_wrong_digest_is_digest_invalid(client: Client) -> None:
    location = await start_upload(client)
    await client.patch(location, data=b"abc")
    resp = await client.put(f"{location}?digest={sha256(b'other')}")
    assert resp.status == 400
    assert await error_codes(resp) == ["DIGEST_INVALID"]
    blob = await client.head(f"/v2/repo/blobs/{sha256(b'other')}")
    assert blob.status == 404


@pytest.mark.parametrize("query", ["", "?digest=", "?digest=sha256:xyz", "?digest=md5:abc"])
async def test_put_without_valid_digest_is_digest_invalid(client: Client, query: str) -> None:
    location = await start_upload(client)
    resp = await client.put(f"{location}{query}", data=b"abc")
    assert resp.status == 400
    assert await error_codes(resp) == ["DIGEST_INVALID"]


async def test_monolithic_post_with_digest(client: Client) -> None:
    resp = await client.post(f"/v2/repo/blobs/uploads/?digest={sha256(DATA)}", data=DATA)
    assert resp.status == 201
    assert resp.headers["Location"] == f"/v2/repo/blobs/{sha256(DATA)}"
    assert resp.headers["Docker-Content-Digest"] == sha256(DATA)
    head = await client.head(f"/v2/repo/blobs/{sha256(DATA)}")
    assert head.headers["Content-Length"] == str(len(DATA))


async def test_monolithic_post_with_wrong_digest(client: Client) -> None:
    resp = await client.post(f"/v2/repo/blobs/uploads/?digest={sha256(b'x')}", data=DATA)
    assert resp.status == 400
    assert await error_codes(resp) == ["DIGEST_INVALID"]


async def test_monolithic_put_after_post(client: Client) -> None:
    location = await start_upload(client)
    resp = await client.put(f"{location}?digest={sha256(DATA)}", data=DATA)
    assert resp.status == 201
    assert (await (await client.get(f"/v2/repo/blobs/{sha256(DATA)}")).read()) == DATA


async def test_empty_blob(client: Client) -> None:
    location = await start_upload(client)
    resp = await client.put(f"{location}?digest={sha256(b'')}")
    assert resp.status == 201
    head = await client.head(f"/v2/repo/blobs/{sha256(b'')}")
    assert head.status == 200
    assert head.headers["Content-Length"] == "0"


async def test_cross_repository_mount(client: Client) -> None:
    digest = await push_blob(client, "source", DATA)
    resp = await client.post(f"/v2/target/blobs/uploads/?mount={digest}&from=source")
    assert resp.status == 201
    assert resp.headers["Location"] == f"/v2/target/blobs/{digest}"
    assert resp.headers["Docker-Content-Digest"] == digest
    assert (await client.head(f"/v2/target/blobs/{digest}")).status == 200


@pytest.mark.parametrize(
    "query",
    [
        f"mount={sha256(b'not there')}&from=source",
        f"mount={sha256(DATA)}&from=elsewhere",
        f"mount={sha256(DATA)}&from=Not_A..Name",
        "mount=sha256:bad&from=source",
        f"mount={sha256(DATA)}",
    ],
)
async def test_mount_falls_back_to_an_upload(client: Client, query: str) -> None:
    await push_blob(client, "source", DATA)
    resp = await client.post(f"/v2/target/blobs/uploads/?{query}")
    assert resp.status == 202
    assert resp.headers["Location"].startswith("/v2/target/blobs/uploads/")
    assert (await client.head(f"/v2/target/blobs/{sha256(DATA)}")).status == 404


async def test_cancel_upload(client: Client) -> None:
    location = await start_upload(client)
    await client.patch(location, data=b"abc")
    resp = await client.delete(location)
    assert resp.status == 204
    again = await client.get(location)
    assert again.status == 404
    assert await error_codes(again) == ["BLOB_UPLOAD_UNKNOWN"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
async def test_unknown_upload_is_404(client: Client, method: str) -> None:
    resp = await client.request(
        method, f"/v2/repo/blobs/uploads/00000000-0000-0000-0000-000000000000?digest={sha256(b'')}"
    )
    assert resp.status == 404
    assert await error_codes(resp) == ["BLOB_UPLOAD_UNKNOWN"]


async def test_blob_size_limit(make_client: ClientFactory) -> None:
    client = await make_client(max_blob_size=1000)
    declared = await client.post(f"/v2/repo/blobs/uploads/?digest={sha256(DATA)}", data=DATA)
    assert declared.status == 400
    assert await error_codes(declared) == ["SIZE_INVALID"]
    location = await start_upload(client)

    async def body() -> Any:
        for i in range(0, 3000, 500):
            yield DATA[i : i + 500]

    streamed = await client.patch(location, data=body())
    assert streamed.status == 400
    assert await error_codes(streamed) == ["SIZE_INVALID"]
    # The failed chunk is undone; the upload is still usable.
    status = await client.get(location)
    assert status.headers["Range"] == "0-0"


async def test_concurrent_uploads_of_one_blob_both_succeed(client: Client) -> None:
    results = await asyncio.gather(*(push_blob(client, "repo", DATA) for _ in range(4)))
    assert set(results) == {sha256(DATA)}
    assert (await (await client.get(f"/v2/repo/blobs/{sha256(DATA)}")).read()) == DATA


# --- manifests -------------------------------------------------------------------------


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
