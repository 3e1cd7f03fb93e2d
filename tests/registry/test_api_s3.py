"""The registry API with S3 storage (moto on loopback): push, chunked uploads, pull with and
without redirects, Range, delete and `registry gc`."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from registry.cli import main
from registry.config import Config
from registry.storage.s3_settings import S3Settings
from tests.registry.api_support import (
    ClientFactory,
    push_blob,
    push_image,
    registry_config,
    sha256,
)
from tests.registry.test_metrics_and_logs import sample, scrape
from tests.s3support import storage_env
from tests.support import free_port


def s3_config(tmp_path: Path, settings: S3Settings, *, redirect: bool) -> Config:
    return registry_config(tmp_path / "unused", s3=settings, redirect=redirect)


async def test_push_pull_stream(
    make_client: ClientFactory, tmp_path: Path, s3_settings: S3Settings
) -> None:
    client = await make_client(s3_config(tmp_path, s3_settings, redirect=False))
    layer = os.urandom(7 << 20)
    image = await push_image(client, "team/app", "v1", layers=[layer])
    resp = await client.get(f"/v2/team/app/blobs/{sha256(layer)}")
    assert resp.status == 200
    assert resp.headers["Content-Length"] == str(len(layer))
    assert await resp.read() == layer
    resp = await client.get(f"/v2/team/app/blobs/{sha256(layer)}", headers={"Range": "bytes=5-9"})
    assert resp.status == 206
    assert resp.headers["Content-Range"] == f"bytes 5-9/{len(layer)}"
    assert await resp.read() == layer[5:10]
    resp = await client.get(f"/v2/team/app/blobs/{sha256(layer)}", headers={"Range": "bytes=-3"})
    assert await resp.read() == layer[-3:]
    resp = await client.get(
        f"/v2/team/app/blobs/{sha256(layer)}", headers={"Range": f"bytes={len(layer)}-"}
    )
    assert resp.status == 416
    resp = await client.head(f"/v2/team/app/blobs/{sha256(layer)}")
    assert resp.status == 200 and resp.headers["Content-Length"] == str(len(layer))
    resp = await client.get("/v2/team/app/manifests/v1", headers={"Accept": image_accept()})
    assert resp.status == 200 and await resp.read() == image.manifest


def image_accept() -> str:
    return "application/vnd.oci.image.manifest.v1+json"


async def test_chunked_upload_in_small_patches(
    make_client: ClientFactory, tmp_path: Path, s3_settings: S3Settings
) -> None:
    client = await make_client(s3_config(tmp_path, s3_settings, redirect=False))
    data = os.urandom((11 << 20) + 17)
    resp = await client.post("/v2/team/app/blobs/uploads/")
    location = resp.headers["Location"]
    # Patches under S3's 5 MiB part minimum, and one across it.
    sizes = [1 << 20, 3 << 20, 6 << 20]
    offset = 0
    for size in sizes:
        chunk = data[offset : offset + size]
        resp = await client.patch(
            location, data=chunk, headers={"Content-Range": f"{offset}-{offset + size - 1}"}
        )
        assert resp.status == 202, await resp.text()
        location = resp.headers["Location"]
        offset += size
        resp = await client.get(location)
        assert resp.headers["Range"] == f"0-{offset - 1}"
    sep = "&" if "?" in location else "?"
    resp = await client.put(f"{location}{sep}digest={sha256(data)}", data=data[offset:])
    assert resp.status == 201, await resp.text()
    resp = await client.get(f"/v2/team/app/blobs/{sha256(data)}")
    assert await resp.read() == data


async def test_blob_get_redirects_to_a_presigned_url(
    make_client: ClientFactory, tmp_path: Path, s3_settings: S3Settings
) -> None:
    client = await make_client(s3_config(tmp_path, s3_settings, redirect=True))
    data = b"redirected blob bytes"
    digest = await push_blob(client, "team/app", data)
    resp = await client.get(f"/v2/team/app/blobs/{digest}", allow_redirects=False)
    assert resp.status == 307
    location = resp.headers["Location"]
    assert location.startswith(s3_settings.regionendpoint or "")
    # A client follows it to the S3 server, which checks the signature's parameters.
    async with aiohttp.ClientSession() as http, http.get(location) as followed:
        assert followed.status == 200
        assert await followed.read() == data
    resp = await client.get(f"/v2/team/app/blobs/{digest}")
    assert resp.status == 200 and await resp.read() == data


async def test_delete_and_gc_on_s3(
    make_client: ClientFactory, tmp_path: Path, s3_settings: S3Settings
) -> None:
    client = await make_client(s3_config(tmp_path, s3_settings, redirect=False))
    kept = await push_image(client, "team/app", "keep", layers=[b"kept layer"])
    gone = await push_image(client, "team/app", "drop", layers=[b"dropped layer"])
    resp = await client.delete(f"/v2/team/app/manifests/{gone.digest}")
    assert resp.status == 202
    config = tmp_path / "config.yml"
    config.write_text("version: 0.1\n")
    env = {**storage_env(s3_settings), "REGISTRY_STORAGE_DELETE_ENABLED": "true"}
    code = await asyncio.to_thread(main, ["gc", "--config", str(config)], env)
    assert code == 0
    resp = await client.get(f"/v2/team/app/blobs/{sha256(b'dropped layer')}")
    assert resp.status == 404
    resp = await client.get(f"/v2/team/app/blobs/{sha256(b'kept layer')}")
    assert resp.status == 200 and await resp.read() == b"kept layer"
    resp = await client.get(
        f"/v2/team/app/manifests/{kept.digest}", headers={"Accept": image_accept()}
    )
    assert resp.status == 200


@pytest.mark.parametrize("bad", ["4096", "abc"])
def test_chunksize_below_five_mib_is_rejected(bad: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("version: 0.1\n")
    env = {
        "REGISTRY_STORAGE_S3_BUCKET": "b",
        "REGISTRY_STORAGE_S3_REGION": "us-east-1",
        "REGISTRY_STORAGE_S3_CHUNKSIZE": bad,
    }
    assert main(["gc", "--config", str(config)], env) == 1


def test_s3_settings_come_from_the_environment(s3_settings: S3Settings) -> None:
    from registry.config import load_config

    cfg = load_config(None, storage_env(s3_settings))
    assert cfg.storage.s3 == replace(s3_settings)
    assert s3_settings.secretkey and s3_settings.secretkey not in repr(cfg)


async def test_storage_metrics_carry_the_s3_driver_label(
    make_client: ClientFactory, tmp_path: Path, s3_settings: S3Settings
) -> None:
    port = free_port()
    config = s3_config(tmp_path, s3_settings, redirect=True)
    http = replace(config.http, debug_host="127.0.0.1", debug_port=port, prometheus=True)
    client = await make_client(replace(config, http=http))
    digest = await push_blob(client, "team/app", b"metered")
    resp = await client.get(f"/v2/team/app/blobs/{digest}", allow_redirects=False)
    assert resp.status == 307
    samples = await scrape(port, "/metrics")
    action = "registry_storage_action_seconds_count"
    assert sample(samples, action, driver="s3", action="Move") >= 1
    assert sample(samples, action, driver="s3", action="URLFor") == 1
    assert sample(samples, action, driver="filesystem", action="Stat") == 0
