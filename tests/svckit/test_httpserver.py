"""svckit.httpserver against real sockets: malformed requests and slow clients.

Each test runs ``serve`` in a subprocess-free way: the guarded runner on an ephemeral port in
this event loop, with a raw socket as the misbehaving client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from aiohttp import web

from svckit.httpserver import GuardedAppRunner, GuardedRequestHandler, IdleWatchdog

SECRET = b"QUxJQ0U6U0VDUkVU"  # base64 of ALICE:SECRET
CLOSE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def started(keepalive: float = 30) -> tuple[GuardedAppRunner, int]:
    app = web.Application()
    app.router.add_get("/", ok)
    GuardedRequestHandler.malformed_code = "REQUEST_INVALID"
    runner = GuardedAppRunner(app, keepalive_timeout=keepalive)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, port


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return reply


async def test_an_oversized_header_gets_the_envelope_and_no_bytes_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner, port = await started()
    try:
        caplog.set_level(logging.DEBUG)
        request = b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + SECRET * 600 + b"\r\n\r\n"
        head, _, body = (await exchange(port, request)).partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == b"431"
        assert json.loads(body) == {
            "errors": [
                {
                    "code": "REQUEST_INVALID",
                    "message": "request header fields too large",
                    "detail": None,
                }
            ]
        }
        assert SECRET not in head + body
        assert "Basic" not in caplog.text and SECRET.decode() not in caplog.text
        assert "Traceback" not in caplog.text
        assert "refused a malformed request" in caplog.text
        # The server goes on serving.
        assert b"200 OK" in await exchange(
            port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    finally:
        await runner.cleanup()


async def test_garbage_gets_400_in_the_envelope() -> None:
    runner, port = await started()
    try:
        reply = await exchange(port, b"GET / HTTP/1.1\r\nHost x\r\n\r\n")
        assert reply.split(b" ")[1] == b"400"
        assert b'"code": "REQUEST_INVALID"' in reply
    finally:
        await runner.cleanup()


async def test_a_trickled_request_head_is_cut_off_and_others_are_served() -> None:
    runner, port = await started(keepalive=1)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = False
        for _ in range(40):
            await asyncio.sleep(0.2)
            # Meanwhile another client is served at once.
            assert b"200 OK" in await exchange(port, CLOSE)
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            if reader.at_eof():
                closed = True
                break
        assert closed, "the slow client was never cut off"
        assert time.monotonic() - start < 5
        writer.close()
    finally:
        await runner.cleanup()


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length body: (head, body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head, await asyncio.wait_for(reader.readexactly(length), 10)


async def test_shutdown_answers_requests_on_open_connections_with_connection_close() -> None:
    runner, port = await started()
    keep = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port)
    for w, r in ((writer, reader), (idle_writer, idle_reader)):
        w.write(keep)
        head, _ = await read_response(r)
        assert b"200 OK" in head and b"Connection: close" not in head
    cleanup = asyncio.create_task(runner.cleanup())
    await asyncio.sleep(0.2)
    # No longer listening: a new connection is for another worker or replica.
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    # A request sent on a connection already open is answered, and told to go elsewhere.
    writer.write(keep)
    head, body = await read_response(reader)
    assert b"200 OK" in head and b"Connection: close" in head and body == b"ok"
    assert await asyncio.wait_for(reader.read(), 5) == b""
    # The connection nothing arrives on is closed once the drain ends, and so is the runner.
    start = time.monotonic()
    assert await asyncio.wait_for(idle_reader.read(), 5) == b""
    await asyncio.wait_for(cleanup, 5)
    assert time.monotonic() - start < 2
    writer.close()
    idle_writer.close()


async def test_shutdown_without_open_connections_does_not_wait() -> None:
    runner, port = await started()
    assert b"200 OK" in await exchange(port, CLOSE)
    start = time.monotonic()
    await runner.cleanup()
    assert time.monotonic() - start < 0.5


async def test_the_watchdog_fires_only_after_silence() -> None:
    fired = asyncio.Event()
    dog = IdleWatchdog(0.3, fired.set)
    for _ in range(5):
        await asyncio.sleep(0.1)
        dog.touch()
    assert not fired.is_set()
    await asyncio.wait_for(fired.wait(), 2)
    dog.cancel()
