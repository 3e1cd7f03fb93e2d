"""Notifications compared with Distribution 2.8: one script of requests, one kind of receiver.

The same requests go to Debian's ``docker-registry`` and to our registry, each configured with
the same ``notifications`` section pointing at its own real receiver on loopback. The events must
come in the same order with the same actions, methods, targets and field names; only ids,
timestamps, addresses and the instance differ. skopeo then copies an image into our registry,
and every blob and the manifest must be announced as pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from registry.app import create_app
from registry.config import load_config
from tests.interop.authsvc_stack import build_oci_image, run
from tests.registry.api_support import sha256
from tests.registry.notify_support import Receiver, start_receiver, summary
from tests.support import free_port, require_tool, wait_for_port

pytestmark = pytest.mark.interop

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

# Both registries read this section (ours through load_config, Distribution from its file).
NOTIFICATIONS = """
notifications:
  events:
    includereferences: true
  endpoints:
    - name: recv
      url: {url}
      headers:
        X-Hook: [interop]
      timeout: 2s
      threshold: 3
      backoff: 200ms
"""


def config_text(root: Path, port: int, url: str) -> str:
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
        + NOTIFICATIONS.format(url=url)
    )


@pytest.fixture
def distribution_binary() -> str:
    return require_tool("docker-registry")


@pytest.fixture
def skopeo_binary() -> str:
    return require_tool("skopeo")


@pytest.fixture
def run_distribution(tmp_path: Path, distribution_binary: str) -> Iterator[Any]:
    """Start docker-registry with the notifications section pointing at ``url``."""
    with contextlib.ExitStack() as stack:

        def start(url: str) -> str:
            port = free_port()
            config = tmp_path / "distribution.yml"
            config.write_text(config_text(tmp_path / "d-root", port, url))
            log = stack.enter_context((tmp_path / "distribution.log").open("wb"))
            proc = subprocess.Popen(
                [distribution_binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
            stack.callback(proc.wait, timeout=10)
            stack.callback(proc.terminate)
            wait_for_port(port)
            return f"http://127.0.0.1:{port}"

        yield start


async def start_ours(aiohttp_server: Any, tmp_path: Path, url: str) -> str:
    path = tmp_path / "ours.yml"
    path.write_text(config_text(tmp_path / "o-root", 5000, url))
    config = load_config(path, {})
    server = await aiohttp_server(create_app(config))
    return str(server.make_url("")).rstrip("/")


async def upload(http: aiohttp.ClientSession, base: str, name: str, data: bytes) -> None:
    async with http.post(f"{base}/v2/{name}/blobs/uploads/") as resp:
        assert resp.status == 202
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = base + location
    async with http.put(location, params={"digest": sha256(data)}, data=data) as resp:
        assert resp.status == 201, await resp.text()


async def drive(base: str) -> str:
    """The script: push by tag, pulls (GET, HEAD, 304), a mount, deletes. Returns the digest."""
    name, config, layer = "team/app", b'{"architecture":"amd64","os":"linux"}', b"layer bytes"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": sha256(config)},
            "layers": [{"mediaType": OCI_LAYER, "size": len(layer), "digest": sha256(layer)}],
        }
    ).encode()
    digest = sha256(manifest)
    accept = {"Accept": OCI_MANIFEST}
    async with aiohttp.ClientSession() as http:
        await upload(http, base, name, config)
        await upload(http, base, name, layer)
        headers = {"Content-Type": OCI_MANIFEST}
        async with http.put(f"{base}/v2/{name}/manifests/v1", data=manifest, headers=headers) as r:
            assert r.status == 201
        expected = [
            ("GET", f"/v2/{name}/manifests/v1", accept, 200),
            ("HEAD", f"/v2/{name}/manifests/{digest}", accept, 200),
            ("GET", f"/v2/{name}/manifests/v1", {**accept, "If-None-Match": f'"{digest}"'}, 304),
            ("GET", f"/v2/{name}/manifests/nope", accept, 404),
            ("GET", f"/v2/{name}/blobs/{sha256(layer)}", {}, 200),
            ("HEAD", f"/v2/{name}/blobs/{sha256(layer)}", {}, 200),
            (
                "GET",
                f"/v2/{name}/blobs/{sha256(layer)}",
                {"If-None-Match": f'"{sha256(layer)}"'},
                304,
            ),
            ("POST", f"/v2/team/other/blobs/uploads/?mount={sha256(layer)}&from={name}", {}, 201),
            ("DELETE", f"/v2/team/other/blobs/{sha256(layer)}", {}, 202),
            ("DELETE", f"/v2/{name}/manifests/{digest}", {}, 202),
        ]
        for method, path, request_headers, status in expected:
            async with http.request(method, base + path, headers=request_headers) as resp:
                assert resp.status == status, (method, path, await resp.text())
    return digest


def shape(event: dict[str, Any]) -> dict[str, Any]:
    """Field names of each part; the references as they are."""
    return {
        "keys": sorted(event),
        "target": sorted(event["target"]),
        "request": sorted(event["request"]),
        "actor": sorted(event["actor"]),
        "source": sorted(event["source"]),
        "references": event["target"].get("references"),
        "size": event["target"].get("size"),
    }


async def test_same_events_as_distribution(
    aiohttp_server: Any, tmp_path: Path, run_distribution: Any
) -> None:
    theirs_receiver = await start_receiver(aiohttp_server)
    ours_receiver = await start_receiver(aiohttp_server)
    theirs = run_distribution(theirs_receiver.url)
    ours = await start_ours(aiohttp_server, tmp_path, ours_receiver.url)
    assert await drive(theirs) == await drive(ours)

    expected = 12
    theirs_events = await theirs_receiver.wait_for(expected)
    ours_events = await ours_receiver.wait_for(expected)
    await asyncio.sleep(0.5)  # nothing more comes
    assert len(theirs_receiver.accepted) == len(ours_receiver.accepted) == expected
    assert summary(ours_events) == summary(theirs_events)
    assert [shape(e) for e in ours_events] == [shape(e) for e in theirs_events]
    for receiver in (theirs_receiver, ours_receiver):
        delivery = receiver.accepted[0]
        assert delivery.headers["Content-Type"] == (
            "application/vnd.docker.distribution.events.v1+json"
        )
        assert delivery.headers["X-Hook"] == "interop"
    # The URLs differ only in the address each registry was reached at.
    assert [e["target"].get("url", "").split("/v2/")[-1] for e in ours_events] == [
        e["target"].get("url", "").split("/v2/")[-1] for e in theirs_events
    ]


async def test_skopeo_copy_announces_every_blob_and_the_manifest(
    aiohttp_server: Any, tmp_path: Path, skopeo_binary: str
) -> None:
    receiver: Receiver = await start_receiver(aiohttp_server)
    ours = await start_ours(aiohttp_server, tmp_path, receiver.url)
    image = build_oci_image(tmp_path / "layout", text="notified")
    host = ours.removeprefix("http://")
    # In a thread: the registry under test serves from this test's event loop.
    await asyncio.to_thread(
        run,
        [skopeo_binary, "copy", "--quiet", "--dest-tls-verify=false", image.ref,
         f"docker://{host}/team/copied:v1"],
    )  # fmt: skip
    # Layers and config, then the manifest by tag (skopeo may HEAD blobs first: pulls).
    events = await receiver.wait_for(len(image.layer_digests) + 2)
    pushes = [e for e in events if e["action"] == "push"]
    assert set(image.layer_digests) <= {e["target"]["digest"] for e in pushes}
    assert pushes[-1]["target"]["digest"] == image.manifest_digest
    assert pushes[-1]["target"]["tag"] == "v1"
    assert pushes[-1]["request"]["useragent"].startswith("skopeo")
