"""A chunked upload survives a registry crash: `registry serve` is killed mid-PATCH and a new
process resumes the upload from the Range it reports (spec "Chunked Upload": an upload is
resumable, so its state lives on disk, not in the process)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from registry.storage.s3_settings import S3Settings
from tests.s3support import storage_env
from tests.support import free_port, wait_for_port

REGISTRY = str(Path(sys.executable).parent / "registry")


class Server:
    """One `registry serve` process over a storage root (a directory, or an S3 bucket)."""

    def __init__(self, root: Path | S3Settings, log: Path) -> None:
        self.port = free_port()
        storage = (
            storage_env(root)
            if isinstance(root, S3Settings)
            else {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(root)}
        )
        env = {
            **os.environ,
            "REGISTRY_HTTP_ADDR": f"127.0.0.1:{self.port}",
            "REGISTRY_LOG_LEVEL": "warn",
            **storage,
        }
        for name in [k for k in env if k.startswith("REGISTRY_AUTH_")]:
            del env[name]
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [REGISTRY, "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def partial_patch(port: int, path: str, offset: int, total: int, sent: bytes) -> socket.socket:
    """Start a PATCH of `total` bytes at `offset` but send only `sent`; keep the socket open."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {total}\r\nContent-Range: {offset}-{offset + total - 1}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    return sock


async def range_end(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as resp:
        assert resp.status == 204, await resp.text()
        return int(resp.headers["Range"].split("-")[1]) + 1


@pytest.mark.parametrize("driver", ["filesystem", "s3"])
async def test_upload_resumes_after_the_registry_is_killed(
    tmp_path: Path, servers: list[Server], driver: str, request: pytest.FixtureRequest
) -> None:
    # On S3 the data file is an open multipart upload whose parts (5 MiB here) outlive the
    # process: the second server finds it with ListMultipartUploads.
    root: Path | S3Settings = (
        request.getfixturevalue("s3_settings") if driver == "s3" else tmp_path / "root"
    )
    data = os.urandom(1 << 20) + os.urandom(12 << 20)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    first = Server(root, tmp_path / "first.log")
    servers.append(first)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{first.url}/v2/team/app/blobs/uploads/") as resp:
            assert resp.status == 202
            location = resp.headers["Location"]
        chunk1 = data[: 1 << 20]
        async with session.patch(
            first.url + location, data=chunk1, headers={"Content-Range": f"0-{len(chunk1) - 1}"}
        ) as resp:
            assert resp.status == 202

        # Second chunk: half of it reaches the server, then the process dies mid-request.
        rest = data[len(chunk1) :]
        sock = partial_patch(first.port, location, len(chunk1), len(rest), rest[: 6 << 20])
        deadline = asyncio.get_running_loop().time() + 30
        while await range_end(session, first.url + location) <= len(chunk1):
            assert asyncio.get_running_loop().time() < deadline, (
                "the partial chunk never reached the disk"
            )
            await asyncio.sleep(0.05)
        first.kill()
        sock.close()

        second = Server(root, tmp_path / "second.log")
        servers.append(second)
        offset = await range_end(session, second.url + location)
        # Whatever reached the disk is a prefix of what was sent: resume from there.
        assert len(chunk1) < offset <= len(chunk1) + (6 << 20)
        async with session.patch(
            second.url + location,
            data=data[offset:],
            headers={"Content-Range": f"{offset}-{len(data) - 1}"},
        ) as resp:
            assert resp.status == 202, await resp.text()
        async with session.put(f"{second.url}{location}?digest={digest}") as resp:
            assert resp.status == 201, await resp.text()
        async with session.get(f"{second.url}/v2/team/app/blobs/{digest}") as resp:
            assert resp.status == 200
            assert await resp.read() == data
        if isinstance(root, Path):
            assert list(root.rglob("_uploads/*/data")) == []
