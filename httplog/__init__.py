"""The access log of both servers: one line per request, formatted cheaply, written in batches.

aiohttp's stock access logger interprets a format string, builds a LogRecord and flushes the
stream for every request. That was about a fifth of the cost of a token request in authsvc and
two fifths of a manifest GET in the registry (py-spy and `make bench`, rows T1 and R1), so
this logger formats the line with one f-string and hands lines to the stream at most every
``FLUSH_INTERVAL`` seconds, in one write. The line keeps the ``logging.basicConfig`` layout of
the rest of the servers' logs, and the ``aiohttp.access`` logger's level still decides whether
lines are written at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

# A line is on the stream within this bound; a crash loses at most this much of the log.
FLUSH_INTERVAL = 0.1
# Bound the buffer when lines arrive faster than a timer can fire (a stalled loop, say).
MAX_BUFFERED = 1024
LOGGER_NAME = "aiohttp.access"
# Set by svckit.logs' middleware on every response (kept here: httplog imports no service).
REQUEST_ID_HEADER = "X-Request-Id"


class _Clock:
    """``YYYY-MM-DD HH:MM:SS,mmm`` like logging's asctime, with strftime done once a second."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._second = -1
        self._prefix = ""

    def stamp(self) -> str:
        t = self._now()
        second = int(t)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return f"{self._prefix},{int((t - second) * 1000):03d}"

    def iso(self) -> str:
        """RFC 3339 in UTC with milliseconds, as svckit.logs' JSON lines."""
        return dt.datetime.fromtimestamp(self._now(), dt.UTC).isoformat(timespec="milliseconds")


class _Batch:
    """Lines waiting to be written, shared by the logger instances of every connection."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.scheduled = False
        self.stream: TextIO | None = None  # None: sys.stderr at the time of writing
        self._waiters: list[asyncio.Future[None]] = []

    def add(self, line: str) -> None:
        """Queue a line and make sure a flush is scheduled on the running loop."""
        self.lines.append(line)
        if len(self.lines) >= MAX_BUFFERED:
            self.flush()
            return
        if self.scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self.scheduled = True
        loop.call_later(FLUSH_INTERVAL, self.flush)

    def flush(self) -> None:
        """Write every queued line in one call (also run at shutdown, so none is left behind)."""
        self.scheduled = False
        if self.lines:
            text = "".join(self.lines)
            self.lines.clear()
            stream = self.stream or sys.stderr
            try:
                stream.write(text)
                stream.flush()
            except (OSError, ValueError):
                # A closed or broken log stream must not take the server down with it.
                pass
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def written(self) -> None:
        """Return once the lines queued so far have been handed to the stream.

        For callers that must see the log (tests, a shutdown hook), instead of sleeping for
        longer than ``FLUSH_INTERVAL`` and hoping the timer has fired.
        """
        if not self.lines:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await waiter


BATCH = _Batch()
_CLOCK = _Clock()


class BatchedAccessLogger(AbstractAccessLogger):
    """Writes ``REMOTE "METHOD PATH HTTP/x.y" STATUS BYTES SECONDSs "USER-AGENT"`` lines.

    The path is logged with its query (token scopes, service, account, registry pagination: no
    secrets travel there; Basic credentials, bearer tokens and refresh tokens are in headers
    and bodies, which are never logged). The request id is the one the services' middleware
    put in the response (svckit.logs); with ``json_lines`` each line is a JSON object.
    """

    json_lines = False

    @property
    def enabled(self) -> bool:
        """Log only when the logger would pass INFO (aiohttp asks once per connection)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        """Format the request's line and queue it."""
        version = request.version
        agent = request.headers.get("User-Agent", "-")
        request_id = response.headers.get(REQUEST_ID_HEADER, "")
        if self.json_lines:
            BATCH.add(
                json.dumps(
                    {
                        "time": _CLOCK.iso(),
                        "level": "info",
                        "logger": LOGGER_NAME,
                        "remote": request.remote,
                        "method": request.method,
                        "path": request.path_qs,
                        "proto": f"HTTP/{version.major}.{version.minor}",
                        "status": response.status,
                        "bytes": response.body_length,
                        "duration": round(time, 6),
                        "user_agent": agent,
                        "request_id": request_id,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            return
        suffix = f" request_id={request_id}" if request_id else ""
        BATCH.add(
            f"{_CLOCK.stamp()} INFO {LOGGER_NAME}: {request.remote} "
            f'"{request.method} {request.path_qs} HTTP/{version.major}.{version.minor}" '
            f'{response.status} {response.body_length} {time:.6f}s "{agent}"{suffix}\n'
        )
