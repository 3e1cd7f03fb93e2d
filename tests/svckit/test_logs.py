"""Request ids and log formats (svckit.logs), through a real aiohttp app and real log records."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from svckit import logs

log = logging.getLogger("tests.svckit.logs")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """A handler on the root logger with the request-id filter, as logs.setup installs it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RequestIdFilter())
    handler.setFormatter(logs.TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.DEBUG)
    yield stream, handler
    root.removeHandler(handler)
    root.setLevel(old)


def make_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        log.info("first line of the request")
        log.debug("second line of the request")
        return web.Response(text="hi")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/hello")

    app = web.Application(middlewares=[logs.request_id_middleware])
    app.router.add_get("/hello", hello)
    app.router.add_get("/moved", moved)
    return app


async def test_a_well_formed_incoming_id_is_kept_on_every_line_and_returned(
    aiohttp_client: type[TestClient], captured: tuple[io.StringIO, logging.Handler]
) -> None:
    client = await aiohttp_client(make_app())  # type: ignore[operator]
    resp = await client.get("/hello", headers={"X-Request-Id": "lb-7f3a.42:trace/1"})
    assert resp.status == 200
    assert resp.headers["X-Request-Id"] == "lb-7f3a.42:trace/1"
    lines = [line for line in captured[0].getvalue().splitlines() if "of the request" in line]
    assert len(lines) == 2
    assert all(line.endswith(" request_id=lb-7f3a.42:trace/1") for line in lines)


@pytest.mark.parametrize(
    "incoming",
    [
        "",  # empty
        "x" * 129,  # longer than any tracing system's id
        'a"b',  # would break out of a quoted field
        "a b",  # would split a log field
        "id=forged request_id=other",
    ],
)
async def test_a_malformed_incoming_id_is_replaced(
    aiohttp_client: type[TestClient], incoming: str
) -> None:
    client = await aiohttp_client(make_app())  # type: ignore[operator]
    resp = await client.get("/hello", headers={"X-Request-Id": incoming})
    made = resp.headers["X-Request-Id"]
    assert made != incoming
    assert len(made) == 32 and int(made, 16) >= 0


async def test_without_an_incoming_id_each_request_gets_its_own(
    aiohttp_client: type[TestClient],
) -> None:
    client = await aiohttp_client(make_app())  # type: ignore[operator]
    ids = {(await client.get("/hello")).headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


async def test_redirects_raised_as_exceptions_carry_the_id(
    aiohttp_client: type[TestClient],
) -> None:
    client = await aiohttp_client(make_app())  # type: ignore[operator]
    resp = await client.get("/moved", allow_redirects=False, headers={"X-Request-Id": "r-1"})
    assert resp.status == 302
    assert resp.headers["X-Request-Id"] == "r-1"


def test_lines_outside_a_request_have_no_id(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    log.warning("at start-up")
    assert captured[0].getvalue().rstrip().endswith("tests.svckit.logs: at start-up")


def test_json_lines_are_one_object_each_with_the_traceback_inside() -> None:
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "svc", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
        )
    record.request_id = "abc"
    line = formatter.format(record)
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["level"] == "error"
    assert doc["logger"] == "svc"
    assert doc["msg"] == "failed x"
    assert doc["request_id"] == "abc"
    assert "ValueError: boom" in doc["error"]
    assert doc["time"].endswith("+00:00")


def test_setup_installs_one_handler_at_the_level_asked() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.setup("json", "warn")
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
        assert root.level == logging.WARNING
        logs.setup("text", "debug")
        assert isinstance(root.handlers[0].formatter, logs.TextFormatter)
        assert root.level == logging.DEBUG
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
