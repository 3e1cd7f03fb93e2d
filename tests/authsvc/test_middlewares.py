"""The error middleware: a database outage is 503 with Retry-After and one clean log line.

The middleware knows only the store's errors (it imports no SQLAlchemy); a driver exception that
escapes a session opened without ``store.transaction`` is still classified by the store.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import exc as sa_exc

import authsvc.middlewares
from authsvc import store
from authsvc.middlewares import RETRY_AFTER, error_middleware

Client = TestClient[web.Request, web.Application]
AiohttpClient = Callable[[web.Application], Awaitable[Client]]
SECRET = "hunter2-parameter"


def _raising(exc: BaseException) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        raise exc

    return handler


async def _client(aiohttp_client: AiohttpClient, exc: BaseException) -> Client:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/auth", _raising(exc))
    app.router.add_post("/auth", _raising(exc))
    return await aiohttp_client(app)


def test_the_middleware_module_imports_no_sqlalchemy() -> None:
    tree = ast.parse(Path(authsvc.middlewares.__file__).read_text(encoding="utf-8"))
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    assert imported and not [n for n in imported if n.split(".")[0] == "sqlalchemy"]


# A driver error as SQLAlchemy wraps it: the text includes the statement and its parameters.
RAW_OUTAGE = sa_exc.OperationalError(
    "UPDATE users SET password_hash=? WHERE id=?", (SECRET, 1), Exception("disk I/O error")
)


@pytest.mark.parametrize(
    ("exc", "logged"),
    [
        (store.StoreUnavailable("database error: timeout"), "database error: timeout"),
        (RAW_OUTAGE, "database error: disk I/O error"),
        (
            ConnectionRefusedError(111, "Connection refused"),
            "cannot connect to the database: Connection refused",
        ),
    ],
    ids=["store", "raw-driver-error", "os-error"],
)
async def test_outage_is_503_with_retry_after(
    aiohttp_client: AiohttpClient,
    caplog: pytest.LogCaptureFixture,
    exc: BaseException,
    logged: str,
) -> None:
    client = await _client(aiohttp_client, exc)
    with caplog.at_level(logging.WARNING, logger="authsvc.middlewares"):
        resp = await client.get("/auth")
        assert resp.status == 503
        assert resp.headers["Retry-After"] == RETRY_AFTER
        body = await resp.json()
        assert body["errors"][0]["code"] == "UNAVAILABLE"
        resp = await client.post("/auth", data={"grant_type": "password"})
        assert resp.status == 503
        assert resp.headers["Retry-After"] == RETRY_AFTER
        assert (await resp.json())["error"] == "temporarily_unavailable"
    warnings = [r for r in caplog.records if r.name == "authsvc.middlewares"]
    assert len(warnings) == 2
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert warnings[0].getMessage() == f"database unavailable: {logged}"
    assert SECRET not in caplog.text and "UPDATE" not in caplog.text
    assert SECRET not in str(body)


@pytest.mark.parametrize(
    "exc",
    [
        store.QueryFailed("database error: permission denied for table users"),
        sa_exc.ProgrammingError("SELECT", {}, Exception("permission denied for table users")),
    ],
    ids=["store", "raw-driver-error"],
)
async def test_a_refused_statement_is_500_not_503(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture, exc: BaseException
) -> None:
    # Missing privileges or a broken query: retrying will not help, so no Retry-After.
    client = await _client(aiohttp_client, exc)
    with caplog.at_level(logging.ERROR, logger="authsvc.middlewares"):
        resp = await client.get("/auth")
    assert resp.status == 500
    assert "Retry-After" not in resp.headers
    assert (await resp.json())["errors"][0]["code"] == "UNKNOWN"
    assert "unhandled error on GET /auth" in caplog.text
