"""A client that trickles its request body is answered 408 and cut off; others are served."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from authsvc.app import create_app
from tests.authsvc.tokenhelpers import KeyPair, make_config

AiohttpServer = Callable[[web.Application], Awaitable[TestServer]]


async def test_a_trickled_body_gets_408(
    aiohttp_server: AiohttpServer, db_url: str, keys: KeyPair
) -> None:
    config = make_config(db_url, keys)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, body_timeout=1))
    server = await aiohttp_server(create_app(config))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /auth HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
        b"grant_type=pass"
    )
    await writer.drain()
    # Meanwhile another client is served.
    reader2, writer2 = await asyncio.open_connection("127.0.0.1", server.port)
    writer2.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert b"200 OK" in await asyncio.wait_for(reader2.read(), 5)
    writer2.close()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 408")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    parsed: Any = json.loads(await reader.readexactly(length))
    assert parsed["error"] == "invalid_request"
    writer.close()
