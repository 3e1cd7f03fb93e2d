"""The batched access log: line format, batching into one write, and no secrets in it.

The real app (create_app on a migrated SQLite database) is served by aiohttp's test server with
``access_log_class=BatchedAccessLogger``, as ``authsvc serve`` runs it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import httplog
from authsvc.app import create_app
from authsvc.appkeys import SESSIONMAKER
from tests.authsvc.tokenhelpers import KeyPair, Seeder, basic, make_config, make_keys

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO aiohttp\.access: 127\.0\.0\.1 "
    r'"(?P<method>GET|POST) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'(?P<secs>\d+\.\d{6})s "(?P<agent>[^"]*)" request_id=(?P<request_id>[0-9a-f]{32})$'
)
PASSWORD = "alice-Secret-password"


class CountingStream(io.StringIO):
    """A text stream that counts its write calls."""

    writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


@pytest.fixture
def stream() -> Iterator[CountingStream]:
    out = CountingStream()
    httplog.BATCH.flush()
    httplog.BATCH.stream = out
    # The logger's level decides, as under `authsvc serve` (logging.basicConfig at INFO).
    logger = logging.getLogger(httplog.LOGGER_NAME)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.setLevel(level)
        httplog.BATCH.flush()
        httplog.BATCH.stream = None


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_keys(tmp_path / "keys", "ES256")


@pytest.fixture
async def client(db_url: str, keys: KeyPair) -> AsyncIterator[TestClient[Any, web.Application]]:
    """The app with the batched logger. TestServer takes runner options in start_server()."""
    app = create_app(make_config(db_url, keys))
    server = TestServer(app)
    await server.start_server(access_log_class=httplog.BatchedAccessLogger)
    async with TestClient(server) as client:
        seed = Seeder(app[SESSIONMAKER])
        await seed.user("alice", PASSWORD)
        await seed.rule("alice", "team/*", ["pull"])
        yield client


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_lines_are_batched_and_hold_no_secrets(
    client: TestClient[Any, web.Application], stream: CountingStream
) -> None:
    resp = await client.get(
        "/auth",
        params={"service": "registry", "scope": "repository:team/app:pull", "offline_token": "1"},
        headers={**basic("alice", PASSWORD), "User-Agent": "skopeo/1.13"},
    )
    assert resp.status == 200
    refresh = (await resp.json())["refresh_token"]
    for _ in range(5):
        resp = await client.post(
            "/auth",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "service": "registry",
                "client_id": "docker",
            },
        )
        assert resp.status == 200
    resp = await client.get("/auth", params={"service": "nope"})
    assert resp.status == 400
    # Nothing is written while the batch is open; one write carries all seven lines.
    assert stream.getvalue() == ""
    await asyncio.wait_for(httplog.BATCH.written(), timeout=10)
    assert stream.writes == 1
    lines = stream.getvalue().splitlines()
    assert len(lines) == 7
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    first, *posts, last = [m.groupdict() for m in parsed if m]
    assert first["method"] == "GET"
    assert first["path"].startswith("/auth?service=registry&scope=repository")
    assert first["agent"] == "skopeo/1.13"
    assert first["status"] == "200"
    assert int(first["bytes"]) > 100
    assert all(p["method"] == "POST" and p["path"] == "/auth" for p in posts)
    assert last["status"] == "400"
    # Credentials travel in the Authorization header and the form body: neither is logged.
    text = stream.getvalue()
    assert PASSWORD not in text
    assert refresh not in text
    assert basic("alice", PASSWORD)["Authorization"].split()[1] not in text


def test_flush_without_a_loop_writes_at_once(stream: CountingStream) -> None:
    httplog.BATCH.add("line one\n")
    assert stream.getvalue() == "line one\n"


def test_a_broken_stream_does_not_raise(stream: CountingStream) -> None:
    stream.close()
    httplog.BATCH.add("lost\n")  # a ValueError from the closed stream is swallowed
    assert httplog.BATCH.lines == []


def test_clock_formats_like_logging_asctime() -> None:
    clock = httplog._Clock(now=lambda: 1_700_000_000.25)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,250", clock.stamp())
