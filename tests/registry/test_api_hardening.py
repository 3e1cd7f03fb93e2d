"""Attacker-shaped input to the registry API: each case failed (500, a frozen loop, a wrong
status or a silently accepted manifest) before its fix, and now gets its error envelope."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from multidict import CIMultiDict

from registry.config import ValidationConfig
from tests.registry.api_support import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    ClientFactory,
    descriptor,
    error_codes,
    push_blob,
    put_manifest,
    registry_config,
    sha256,
)


def manifest_with(config: bytes, layers: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(OCI_CONFIG, config),
            "layers": layers,
        }
    ).encode()


async def test_deeply_nested_json_is_an_invalid_manifest(make_client: ClientFactory) -> None:
    client = await make_client()
    resp = await put_manifest(client, "team/app", "v1", b"[" * 100_000)
    assert resp.status == 400
    assert await error_codes(resp) == ["MANIFEST_INVALID"]


async def test_one_blob_named_25000_times_is_checked_once(make_client: ClientFactory) -> None:
    client = await make_client()
    config, layer = b"{}", b"the only layer"
    await push_blob(client, "team/app", config)
    await push_blob(client, "team/app", layer)
    body = manifest_with(config, [descriptor(OCI_LAYER, layer)] * 25_000)
    assert len(body) < 4 << 20
    resp = await put_manifest(client, "team/app", "many", body)
    assert resp.status == 201, await resp.text()


async def test_too_many_distinct_references_are_refused_before_any_lookup(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    config = registry_config(tmp_path / "root")
    client = await make_client(replace(config, validation=ValidationConfig(max_references=10)))
    layers = [descriptor(OCI_LAYER, f"layer {i}".encode()) for i in range(10)]
    resp = await put_manifest(client, "team/app", "v1", manifest_with(b"{}", layers))
    assert resp.status == 400
    assert await error_codes(resp) == ["MANIFEST_INVALID"]
    assert (await resp.json())["errors"][0]["detail"] == {"references": 11, "limit": 10}


async def test_missing_blobs_are_listed_up_to_a_bound(make_client: ClientFactory) -> None:
    client = await make_client()
    layers = [descriptor(OCI_LAYER, f"missing {i}".encode()) for i in range(300)]
    resp = await put_manifest(client, "team/app", "v1", manifest_with(b"{}", layers))
    assert resp.status == 400
    codes = await error_codes(resp)
    assert len(codes) == 101 and set(codes) == {"MANIFEST_BLOB_UNKNOWN"}
    assert (await resp.json())["errors"][-1]["detail"] == {"unlisted": 201}


async def test_a_layer_size_that_is_not_the_blobs_is_refused(make_client: ClientFactory) -> None:
    client = await make_client()
    config, layer = b"{}", b"twelve bytes"
    await push_blob(client, "team/app", config)
    await push_blob(client, "team/app", layer)
    wrong = {**descriptor(OCI_LAYER, layer), "size": len(layer) + 1}
    resp = await put_manifest(client, "team/app", "v1", manifest_with(config, [wrong]))
    assert resp.status == 400
    assert await error_codes(resp) == ["MANIFEST_INVALID"]
    detail = (await resp.json())["errors"][0]["detail"]
    assert detail == {"digest": sha256(layer), "size": len(layer) + 1, "stored": len(layer)}
    twice = [descriptor(OCI_LAYER, layer), wrong]
    resp = await put_manifest(client, "team/app", "v1", manifest_with(config, twice))
    assert await error_codes(resp) == ["MANIFEST_INVALID"]
    resp = await client.get("/v2/team/app/manifests/v1")
    assert resp.status == 404


async def test_ranges_follow_rfc_9110(make_client: ClientFactory) -> None:
    client = await make_client()
    data = bytes(range(40))
    digest = await push_blob(client, "team/app", data)
    url = f"/v2/team/app/blobs/{digest}"
    resp = await client.get(url, headers={"Range": "bytes=-0"})
    assert resp.status == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(data)}"
    assert await error_codes(resp) == ["RANGE_INVALID"]
    resp = await client.get(url, headers={"Range": "bytes=0-9,20-29"})
    assert resp.status == 200
    assert await resp.read() == data
    resp = await client.get(url, headers={"Range": "bytes=-5"})
    assert resp.status == 206
    assert await resp.read() == data[-5:]


async def test_two_authorization_headers_are_refused(make_client: ClientFactory) -> None:
    client = await make_client()
    headers = CIMultiDict([("Authorization", "Bearer one"), ("Authorization", "Bearer two")])
    resp = await client.get("/v2/", headers=headers)
    assert resp.status == 400
    assert await error_codes(resp) == ["REQUEST_INVALID"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only); the test is skipped, saying why, where mounting is refused."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_disk_is_a_clear_error_and_nothing_half_written_is_served(
    make_client: ClientFactory, small_disk: Path
) -> None:
    client = await make_client(registry_config(small_disk / "root"))
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (900 << 10))
    big = os.urandom(512 << 10)
    resp = await client.post(f"/v2/team/app/blobs/uploads/?digest={sha256(big)}", data=big)
    assert resp.status == 507
    assert await error_codes(resp) == ["STORAGE_FULL"]
    assert (await client.head(f"/v2/team/app/blobs/{sha256(big)}")).status == 404
    ballast.unlink()
    assert await push_blob(client, "team/app", big) == sha256(big)
    got = await client.get(f"/v2/team/app/blobs/{sha256(big)}")
    assert await got.read() == big


async def test_deleting_a_manifest_while_its_tag_is_pushed_again_never_fails(
    make_client: ClientFactory,
) -> None:
    """Found by `make soak`: untagging removed the tag directory while a PUT of the same tag
    wrote into it, and the delete failed with 500 ("directory not empty")."""
    client = await make_client()
    config = b"{}"
    await push_blob(client, "team/app", config)
    layers = [f"layer {i}".encode() for i in range(40)]
    for layer in layers:
        await push_blob(client, "team/app", layer)
    bodies = [manifest_with(config, [descriptor(OCI_LAYER, layer)]) for layer in layers]
    statuses: list[int] = []
    for first, second in itertools.pairwise(bodies):
        resp = await put_manifest(client, "team/app", "moving", first)
        assert resp.status == 201

        async def delete(body: bytes = first) -> int:
            resp = await client.delete(f"/v2/team/app/manifests/{sha256(body)}")
            return int(resp.status)

        async def retag(body: bytes = second) -> int:
            return int((await put_manifest(client, "team/app", "moving", body)).status)

        statuses.extend(await asyncio.gather(delete(), retag()))
    assert set(statuses) <= {201, 202, 404}, statuses
