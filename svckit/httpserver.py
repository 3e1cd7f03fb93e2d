"""Serving an aiohttp app with the protections both services need from their HTTP layer.

``serve(app, …)`` replaces ``web.run_app`` for authsvc and the registry. What it adds:

- **Malformed requests answer in the error envelope and log no request bytes.** aiohttp's own
  answer to a request line or header over 8190 bytes is plain text that quotes the first 100
  bytes of it, and its log line is an ERROR with a traceback quoting the same bytes; for a
  token server that is the start of ``Basic base64(user:password)``. Here the answer is the
  JSON envelope (431 for oversized headers, 400 otherwise; RFC 6585 §5) and the log is one
  WARNING line naming the peer and the kind of error, at most once a second.
- **Slow clients are cut off.** A connection that has not completed its request headers within
  ``header_timeout`` seconds is closed (aiohttp's keep-alive timer, which also runs while a
  request head trickles in), so a slow-loris client holds a socket for that long at most.
  Bodies are the application's to bound (``IdleWatchdog`` below), since only it knows how
  large they may be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

log = logging.getLogger("svckit.httpserver")

MALFORMED_LOG_INTERVAL = 1.0
# How long a shutting-down server keeps answering on connections already open (each answer
# closing its connection) before it closes the idle ones; see GuardedAppRunner.
DRAIN_IDLE = 1.0
DRAIN_POLL = 0.02


class RateLimitedLog:
    """Logs at most one line per interval and says how many were left out meanwhile."""

    def __init__(self, interval: float, logger: logging.Logger | None = None) -> None:
        self._logger = logger or log
        self._interval = interval
        self._next = 0.0
        self._skipped = 0

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next:
            self._skipped += 1
            return
        skipped, self._skipped = self._skipped, 0
        self._next = now + self._interval
        suffix = f" ({skipped} more since the last such line)" if skipped else ""
        self._logger.warning(message + suffix, *args)


MALFORMED_LOG = RateLimitedLog(MALFORMED_LOG_INTERVAL)


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering parser errors in the services' envelope."""

    malformed_code = "UNSUPPORTED"

    def data_received(self, data: bytes) -> None:
        """Keep reading the body of the request in progress during a graceful shutdown.

        On shutdown aiohttp marks every connection closing and from then on discards whatever
        bytes arrive, the rest of a request body included: an upload in flight then waits for
        data that never comes until the shutdown timeout, and the client sees the connection
        drop. The request already being handled is allowed to finish reading; nothing after it
        is served, as the connection still closes once it is answered.
        """
        closing = (self._close, self._force_close)
        if any(closing) and getattr(self, "_request_in_progress", False):
            # The handler is still running (aiohttp clears the flag when it returns).
            self._close = self._force_close = False
            try:
                super().data_received(data)
            finally:
                self._close, self._force_close = closing
            return
        super().data_received(data)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Parser errors: one short log line and the JSON envelope; anything else as aiohttp."""
        if not isinstance(exc, HttpProcessingError):
            return super().handle_error(request, status, exc, message)
        oversized = isinstance(exc, LineTooLong) or "too many headers" in str(exc).lower()
        status = 431 if oversized else 400
        text = "request header fields too large" if oversized else "malformed HTTP request"
        # Never the exception's message: it quotes the offending bytes.
        MALFORMED_LOG.warning(
            "refused a malformed request from %s: %s", request.remote, type(exc).__name__
        )
        body = {"errors": [{"code": self.malformed_code, "message": text, "detail": None}]}
        response = web.Response(
            status=status, text=json.dumps(body), content_type="application/json"
        )
        response.force_close()
        return response


class _GuardedServer(Server):
    def __call__(self) -> RequestHandler:
        handler = GuardedRequestHandler(self, loop=self._loop, **self._kwargs)
        return handler


class GuardedAppRunner(web.AppRunner):
    """An AppRunner whose connections use ``GuardedRequestHandler`` and drain before closing.

    On shutdown aiohttp stops listening and at once closes every idle keep-alive connection.
    A client that has just sent its next request on such a connection sees it close without
    an answer (RFC 9112 §9.3.1: the client may retry, Go's transport does for idempotent
    requests, many others do not). With other workers or replicas still serving, the
    connection should move rather than break. So the runner first stops listening, then for up
    to ``drain_idle`` seconds keeps the open connections: each request that arrives on one is
    answered as usual with ``Connection: close`` (RFC 9112 §9.6), which sends the client to
    a listener that is still accepting. Connections still open after that are closed as
    aiohttp does. The drain ends as soon as no connection remains.
    """

    def __init__(
        self, app: web.Application, *, drain_idle: float = DRAIN_IDLE, **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self._drain_idle = drain_idle
        self._draining = False
        app.on_response_prepare.append(self._close_when_draining)

    async def _close_when_draining(
        self, _request: web.Request, response: web.StreamResponse
    ) -> None:
        if self._draining:
            # aiohttp fires this hook after it has chosen the Connection header, so the header
            # is set here too; force_close makes the handler close once the body is sent.
            response.force_close()
            response.headers[hdrs.CONNECTION] = "close"

    async def cleanup(self) -> None:
        """Stop listening, drain the open connections, then shut down as aiohttp does."""
        for site in list(self.sites):
            await site.stop()
        server = self.server
        if server is not None and self._drain_idle > 0:
            self._draining = True
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._drain_idle
            while server.connections and loop.time() < deadline:
                await asyncio.sleep(DRAIN_POLL)
        await super().cleanup()

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        # The app builds a plain Server; only its handler factory changes, so the instance
        # is re-classed rather than rebuilt from aiohttp's private constructor arguments.
        server.__class__ = _GuardedServer
        return server


def serve(
    app: web.Application,
    *,
    host: str,
    port: int,
    header_timeout: float,
    malformed_code: str,
    ssl_context: Any = None,
    loop: asyncio.AbstractEventLoop | None = None,
    access_log: logging.Logger | None = None,
    access_log_class: type[Any] | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run ``app`` until SIGINT or SIGTERM, then shut down gracefully (as ``web.run_app``)."""
    GuardedRequestHandler.malformed_code = malformed_code
    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kwargs: dict[str, Any] = {"keepalive_timeout": header_timeout, "access_log": access_log}
    if access_log_class is not None:
        kwargs["access_log_class"] = access_log_class
    runner = GuardedAppRunner(app, handle_signals=True, **kwargs)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        if on_started is not None:
            on_started()

    try:
        loop.run_until_complete(start())
        loop.run_forever()
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class IdleWatchdog:
    """Calls ``expire`` when ``touch`` has not been called for ``idle`` seconds.

    For request bodies: the reader touches it at every chunk, which costs one assignment, and
    a timer checks now and then, so a client that stops sending mid-body is cut off without a
    per-chunk timeout.
    """

    def __init__(self, idle: float, expire: Callable[[], None]) -> None:
        """Start watching."""
        self._idle = idle
        self._expire = expire
        self._loop = asyncio.get_running_loop()
        self.last = self._loop.time()
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(idle, self._check)

    def touch(self) -> None:
        """Progress was made."""
        self.last = self._loop.time()

    def _check(self) -> None:
        quiet = self._loop.time() - self.last
        if quiet >= self._idle:
            self._handle = None
            self._expire()
        else:
            self._handle = self._loop.call_later(self._idle - quiet, self._check)

    def cancel(self) -> None:
        """Stop watching."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def watched_body(request: web.Request, idle: float) -> AsyncIterator[bytes]:
    """The request body as it arrives; the connection is closed after ``idle`` silent seconds.

    Closing the transport ends the read with a connection error in the handler, as a client
    that hung up would: what arrived so far is kept or dropped by the handler's own rules.
    """

    def expire() -> None:
        MALFORMED_LOG.warning(
            "closing the connection of %s: its request body stalled for %ss", request.remote, idle
        )
        if request.transport is not None:
            request.transport.close()

    watchdog = IdleWatchdog(idle, expire)
    try:
        async for chunk in request.content.iter_any():
            watchdog.touch()
            yield chunk
    finally:
        watchdog.cancel()
