"""Log set-up for both services: text or JSON lines, and one request id on every line of a request.

The id comes from a well-formed incoming ``X-Request-Id`` (a load balancer or client that already
tags its requests keeps its id end to end) or is made here. The middleware puts it in a context
variable, which a logging filter copies into every record made while the request runs, and
returns it in the response; the access log reads it from the response header.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import re
import secrets
import sys
from contextvars import ContextVar
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler

REQUEST_ID_HEADER = "X-Request-Id"
# No request: lines logged at start-up, by background tasks or by the CLI.
NO_REQUEST = ""

# Printable ASCII without spaces, quotes or backslashes, at most 128 characters: enough for
# UUIDs, AWS/GCP trace ids and nginx's $request_id, and nothing that could break a log line
# or forge another one. Anything else is replaced, not echoed.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

Format = Literal["text", "json"]

# Distribution's level names (logrus) and authsvc's, onto the logging module's.
LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}


class _Ids:
    """Request ids: 64 random bits per process, then a counter, as 32 hex digits.

    Unique across processes and replicas without a system call per request (a UUID 4 reads
    the kernel's random source each time, a visible share of a token request's cost). A forked
    worker draws its own random half, so workers never repeat each other's ids.
    """

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(secrets.randbits(32))

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_IDS = _Ids()
os.register_at_fork(after_in_child=_IDS.reseed)


def request_id_for(incoming: str | None) -> str:
    """The incoming id when it is well formed, else a new one (32 hex digits)."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return _IDS.next()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tag the request's log lines and its response with one id (the outermost middleware)."""
    request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
    token = REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Redirects and the like travel as exceptions; they carry the id all the same.
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        REQUEST_ID.reset(token)
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate; never drops a record."""
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, with ``request_id=…`` appended inside a request."""

    def __init__(self) -> None:
        """The layout of ``logging.basicConfig`` that the services always used."""
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Format, then append the request id when there is one."""
        line = super().format(record)
        request_id = getattr(record, "request_id", NO_REQUEST)
        return f"{line} request_id={request_id}" if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (RFC 3339, UTC), level, logger, msg, request_id[, error]."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record; a traceback goes in ``error`` rather than on further lines."""
        doc: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", NO_REQUEST)
        if request_id:
            doc["request_id"] = request_id
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup(log_format: Format, level: str) -> None:
    """Send every logger's records to standard error in ``log_format``, from ``level`` up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS.get(level.lower(), logging.INFO))
