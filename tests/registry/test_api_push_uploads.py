"""OCI distribution spec "Push", blob uploads: end-4a/4b (POST), end-5/6 (PATCH, PUT), end-11
(mount) and end-13 (status), streamed, chunked and monolithic."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.registry.api_support import (
    Client,
    ClientFactory,
    error_codes,
    push_blob,
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
