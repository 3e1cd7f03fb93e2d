"""OCI distribution spec "Content Management" (end-9, end-10) and the maintenance modes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from registry.appkeys import STORAGE, UPLOAD_PURGER
from registry.config import UploadPurgingConfig
from registry.storage.paths import UploadStartedAtPath, path_for
from tests.registry.api_support import (
    Client,
    ClientFactory,
    error_codes,
    push_image,
    put_manifest,
    registry_config,
    sha256,
)


async def test_delete_manifest_by_digest_removes_its_tags(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    assert (await put_manifest(client, "repo", "v2", image.manifest)).status == 201
    assert (await client.get("/v2/repo/manifests/v1")).status == 200  # now cached
    resp = await client.delete(f"/v2/repo/manifests/{image.digest}")
    assert resp.status == 202
    for reference in ("v1", "v2", image.digest):
        gone = await client.get(f"/v2/repo/manifests/{reference}")
        assert gone.status == 404, reference
        assert await error_codes(gone) == ["MANIFEST_UNKNOWN"]
    tags = await client.get("/v2/repo/tags/list")
    assert (await tags.json())["tags"] == []
    again = await client.delete(f"/v2/repo/manifests/{image.digest}")
    assert again.status == 404
    assert await error_codes(again) == ["MANIFEST_UNKNOWN"]


async def test_delete_tag_keeps_the_manifest(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    assert (await put_manifest(client, "repo", "v2", image.manifest)).status == 201
    resp = await client.delete("/v2/repo/manifests/v1")
    assert resp.status == 202
    assert (await client.get("/v2/repo/manifests/v1")).status == 404
    assert (await client.get("/v2/repo/manifests/v2")).status == 200
    assert (await client.get(f"/v2/repo/manifests/{image.digest}")).status == 200
    missing = await client.delete("/v2/repo/manifests/v1")
    assert missing.status == 404
    assert await error_codes(missing) == ["MANIFEST_UNKNOWN"]
    unknown_repo = await client.delete("/v2/nothing/manifests/v1")
    assert unknown_repo.status == 404


async def test_delete_blob(client: Client) -> None:
    await push_image(client, "repo", "v1", layers=[b"layer"])
    digest = sha256(b"layer")
    resp = await client.delete(f"/v2/repo/blobs/{digest}")
    assert resp.status == 202
    gone = await client.get(f"/v2/repo/blobs/{digest}")
    assert gone.status == 404
    assert await error_codes(gone) == ["BLOB_UNKNOWN"]
    again = await client.delete(f"/v2/repo/blobs/{digest}")
    assert again.status == 404
    assert await error_codes(again) == ["BLOB_UNKNOWN"]


@pytest.mark.parametrize("path", ["/v2/repo/manifests/v1", "/v2/repo/blobs/{layer}"])
async def test_deletes_disabled_give_405_unsupported(make_client: ClientFactory, path: str) -> None:
    client = await make_client(delete_enabled=False)
    image = await push_image(client, "repo", "v1", layers=[b"layer"])
    resp = await client.delete(path.format(layer=sha256(b"layer")))
    assert resp.status == 405
    assert await error_codes(resp) == ["UNSUPPORTED"]
    assert (await client.get("/v2/repo/manifests/v1")).status == 200
    assert image.layers == [b"layer"]


async def test_read_only_mode(make_client: ClientFactory, tmp_path: Path) -> None:
    root = tmp_path / "root"
    writer = await make_client(registry_config(root))
    image = await push_image(writer, "repo", "v1", layers=[b"layer"])
    location = (await writer.post("/v2/repo/blobs/uploads/")).headers["Location"]
    await writer.close()

    reader = await make_client(registry_config(root, readonly=True))
    assert (await reader.get("/v2/repo/manifests/v1")).status == 200
    assert (await reader.get(f"/v2/repo/blobs/{sha256(b'layer')}")).status == 200
    assert (await reader.get("/v2/repo/tags/list")).status == 200
    assert (await reader.get(location)).status == 204
    writes = [
        ("POST", "/v2/repo/blobs/uploads/"),
        ("POST", f"/v2/repo/blobs/uploads/?digest={sha256(b'x')}"),
        ("PATCH", location),
        ("PUT", f"{location}?digest={sha256(b'')}"),
        ("DELETE", location),
        ("PUT", "/v2/repo/manifests/v2"),
        ("DELETE", f"/v2/repo/manifests/{image.digest}"),
        ("DELETE", f"/v2/repo/blobs/{sha256(b'layer')}"),
    ]
    for method, path in writes:
        resp = await reader.request(method, path, data=b"x")
        assert resp.status == 405, (method, path)
        assert await error_codes(resp) == ["UNSUPPORTED"]


async def backdate_upload(client: Client, location: str) -> None:
    """Make an upload look as if it started in 2001 (Distribution's startedat format)."""
    name, upload_id = location.removeprefix("/v2/").split("/blobs/uploads/")
    path = path_for(UploadStartedAtPath(name, upload_id))
    await client.app[STORAGE].driver.put_content(path, b"2001-02-03T04:05:06Z")


async def next_purge(client: Client) -> None:
    """Wait until a purge pass that starts from now on has finished (with a deadline)."""
    await asyncio.wait_for(client.app[UPLOAD_PURGER].wait_for_pass(), timeout=30)


async def test_upload_purger_removes_stale_uploads(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    purging = UploadPurgingConfig(enabled=True, age=3600, interval=0.05, dryrun=False)
    client = await make_client(registry_config(tmp_path / "root", uploadpurging=purging))
    stale = (await client.post("/v2/repo/blobs/uploads/")).headers["Location"]
    fresh = (await client.post("/v2/repo/blobs/uploads/")).headers["Location"]
    await backdate_upload(client, stale)
    await next_purge(client)
    resp = await client.get(stale)
    assert resp.status == 404
    assert await error_codes(resp) == ["BLOB_UPLOAD_UNKNOWN"]
    assert (await client.get(fresh)).status == 204


async def test_upload_purger_dry_run_keeps_uploads(
    make_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="registry.purger")
    purging = UploadPurgingConfig(enabled=True, age=3600, interval=0.05, dryrun=True)
    client = await make_client(registry_config(tmp_path / "root", uploadpurging=purging))
    location = (await client.post("/v2/repo/blobs/uploads/")).headers["Location"]
    await backdate_upload(client, location)
    await next_purge(client)
    assert "would purge 1 stale upload" in caplog.text
    assert (await client.get(location)).status == 204


async def test_no_purger_when_read_only(make_client: ClientFactory, tmp_path: Path) -> None:
    purging = UploadPurgingConfig(enabled=True, age=3600, interval=0.05)
    config = registry_config(tmp_path / "root", uploadpurging=purging, readonly=True)
    client = await make_client(config)
    assert UPLOAD_PURGER not in client.app


async def test_internal_errors_are_unknown_500_and_logged(
    make_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "root"
    # A file where Distribution's layout needs a directory: every write below it fails.
    (root / "docker" / "registry" / "v2").mkdir(parents=True)
    (root / "docker" / "registry" / "v2" / "repositories").write_text("not a directory")
    client = await make_client(registry_config(root))
    resp = await client.post("/v2/repo/blobs/uploads/")
    assert resp.status == 500
    assert await error_codes(resp) == ["UNKNOWN"]
    assert "not a directory" not in await resp.text()  # no internals leak to the client
    assert "unhandled error in POST /v2/repo/blobs/uploads/" in caplog.text
    assert "Traceback" in caplog.text
