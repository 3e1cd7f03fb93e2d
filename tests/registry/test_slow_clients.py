"""A client that stops sending an upload's body is cut off, and the upload can resume."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from registry.app import create_app
from tests.registry.api_support import registry_config

AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]


async def test_a_stalled_upload_body_is_cut_off_and_the_upload_resumes(
    aiohttp_server: AiohttpServer, tmp_path: Path
) -> None:
    config = registry_config(tmp_path)
    config = dataclasses.replace(config, http=dataclasses.replace(config.http, body_timeout=1.0))
    server = await aiohttp_server(create_app(config))
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{base}/v2/slow/app/blobs/uploads/")
        assert resp.status == 202
        location = resp.headers["Location"]
    path = location if location.startswith("/") else location.split(str(server.port), 1)[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: 1000\r\n\r\n".encode()
        + b"a" * 100
    )
    await writer.drain()
    # Then silence: the server hangs up within the body timeout (plus its check interval).
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    async with aiohttp.ClientSession() as http:
        status = await http.get(base + path)
        assert status.status == 204
        offset = (
            int(status.headers["Range"].split("-")[1]) + 1
            if status.headers["Range"] != "0-0"
            else 0
        )
        assert offset in (0, 100)
        data = b"a" * 100 + b"b" * 900
        resp = await http.patch(
            base + status.headers["Location"],
            data=data[offset:],
            headers={"Content-Type": "application/octet-stream"},
        )
        assert resp.status == 202, await resp.text()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        done = await http.put(base + resp.headers["Location"], params={"digest": digest})
        assert done.status == 201, await done.text()
