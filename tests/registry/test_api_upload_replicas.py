"""A chunked upload whose requests land on different replicas (two apps over one storage root).

Distribution's design, followed here: the upload's data and offset live in storage, and every
upload Location carries a `_state` token signed with `http.secret`, which any replica sharing
the secret verifies (registry/handlers/uploads.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from registry.config import Config, HttpConfig
from tests.registry.api_support import Client, ClientFactory, error_codes, registry_config

CHUNKS = [b"a" * 70_000, b"b" * 50_000, b"c" * 1]


def _config(root: Path, secret: str | None) -> Config:
    return replace(registry_config(root), http=HttpConfig(secret=secret))


async def _replicas(make_client: ClientFactory, root: Path, *secrets: str | None) -> list[Client]:
    return [await make_client(_config(root, secret)) for secret in secrets]


async def test_chunks_sent_to_alternating_replicas_make_one_blob(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    replicas = await _replicas(make_client, tmp_path / "root", "s3cret", "s3cret", "s3cret")
    resp = await replicas[0].post("/v2/app/blobs/uploads/")
    assert resp.status == 202
    location = resp.headers["Location"]
    assert "_state" in parse_qs(urlsplit(location).query)
    for turn, chunk in enumerate(CHUNKS):
        resp = await replicas[(turn + 1) % 3].patch(location, data=chunk)
        assert resp.status == 202, await resp.text()
        location = resp.headers["Location"]
    data = b"".join(CHUNKS)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    resp = await replicas[1].put(location, params={"digest": digest})
    assert resp.status == 201, await resp.text()
    for replica in replicas:
        got = await replica.get(f"/v2/app/blobs/{digest}")
        assert got.status == 200
        assert await got.read() == data


async def test_a_state_signed_with_another_secret_is_refused(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    first, second = await _replicas(make_client, tmp_path / "root", "one", "two")
    location = (await first.post("/v2/app/blobs/uploads/")).headers["Location"]
    resp = await second.patch(location, data=b"x")
    assert resp.status == 400
    assert await error_codes(resp) == ["BLOB_UPLOAD_INVALID"]
    # Nothing was written: the upload is still empty for the replica that signed it.
    status = await first.get(location)
    assert status.status == 204
    assert status.headers["Range"] == "0-0"


async def test_a_state_of_another_upload_is_refused(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    (replica,) = await _replicas(make_client, tmp_path / "root", "s3cret")
    one = (await replica.post("/v2/app/blobs/uploads/")).headers["Location"]
    other = (await replica.post("/v2/app/blobs/uploads/")).headers["Location"]
    mixed = urlsplit(one).path + "?" + urlsplit(other).query
    for method in ("GET", "PATCH", "DELETE"):
        resp = await replica.request(method, mixed, data=b"x")
        assert resp.status == 400, method
        assert await error_codes(resp) == ["BLOB_UPLOAD_INVALID"]


async def test_a_stale_state_gets_416_with_the_real_range(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    first, second = await _replicas(make_client, tmp_path / "root", "s3cret", "s3cret")
    stale = (await first.post("/v2/app/blobs/uploads/")).headers["Location"]
    assert (await second.patch(stale, data=b"12345")).status == 202
    # The client resends from the old offset: refused instead of appended out of place.
    resp = await first.patch(stale, data=b"67890")
    assert resp.status == 416
    assert await error_codes(resp) == ["RANGE_INVALID"]
    assert resp.headers["Range"] == "0-4"
    resumed = await second.patch(resp.headers["Location"], data=b"67890")
    assert resumed.status == 202
    assert resumed.headers["Range"] == "0-9"


async def test_without_a_secret_locations_carry_no_state(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    first, second = await _replicas(make_client, tmp_path / "root", None, None)
    location = (await first.post("/v2/app/blobs/uploads/")).headers["Location"]
    assert "?" not in location
    assert (await second.patch(location, data=b"x")).status == 202
