"""Prometheus plumbing both services share: value storage, exposition and the metrics listener.

With worker processes (``--workers``) each worker counts in its own process, so the client's
multiprocess mode is used: the serve command points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory before the workers start, each worker writes its values to files there, and the
master serves the sum of all of them (``start_master_exporter``), so one scrape sees the whole
server rather than whichever worker the connection landed on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.exposition import start_http_server
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


M = TypeVar("M", Counter, Gauge, Histogram)
# Keyed by the metric object itself (not its id), which keeps it alive: an id could be reused
# by a later metric after the first one is gone.
_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: M, *labels: str) -> M:
    """``metric.labels(*labels)``, remembered.

    The client's lookup takes a lock and validates the label values on every call, a measurable
    share of a token request; label values here are few and bounded, so the children are kept.
    """
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return cast(M, found)


def timing_middleware(
    done: Callable[[web.Request, int, float], None],
    start: Callable[[web.Request], None] | None = None,
) -> Middleware:
    """A middleware that reports each request's status and duration to ``done`` (seconds).

    The status is the one sent: the services' error middlewares run inside this one, so errors
    are responses by now; redirects and other HTTP exceptions count with their own status.
    """

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if start is not None:
            start(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            done(request, status, time.perf_counter() - started)

    return timed


def multiprocess() -> bool:
    """Whether this process is one of several workers sharing their metrics through files."""
    return bool(os.environ.get(MULTIPROC_ENV))


def select_value_storage() -> None:
    """Make metrics created from now on count in memory, or in files when workers share them.

    The client decides when it is first imported, which in both services happens long before
    the serve command knows how many workers it runs; deciding again just before the metrics
    are made keeps the choice right whatever was imported first.
    """
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def new_registry() -> CollectorRegistry:
    """A registry for one service's metrics, with the value storage chosen now."""
    select_value_storage()
    return CollectorRegistry(auto_describe=True)


def merged_registry() -> CollectorRegistry:
    """A registry that reads every worker's metric files."""
    merged = CollectorRegistry()
    MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return merged


def exposition(registry: CollectorRegistry) -> bytes:
    """The text format of ``registry``, or of every worker's values summed."""
    return generate_latest(merged_registry() if multiprocess() else registry)


def metrics_app(path: str, registry: CollectorRegistry) -> web.Application:
    """An app that answers ``GET path`` with the metrics and nothing else."""

    async def get_metrics(request: web.Request) -> web.Response:
        response = web.Response(body=exposition(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get(path, get_metrics)
    return app


async def serve_metrics(
    host: str, port: int, path: str, registry: CollectorRegistry
) -> AsyncIterator[None]:
    """Serve the metrics on ``host:port`` while the surrounding context runs (one process)."""
    runner = web.AppRunner(metrics_app(path, registry), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        yield
    finally:
        await runner.cleanup()


class MultiprocessMetrics:
    """The directory the workers write their metrics to, owned by the master process."""

    def __init__(self) -> None:
        """Create the directory and point the client at it (before any worker starts)."""
        self.path = tempfile.mkdtemp(prefix="svckit-metrics-")
        self._owner = os.getpid()
        os.environ[MULTIPROC_ENV] = self.path
        self._server: object | None = None

    def start_master_exporter(self, host: str, port: int) -> None:
        """Serve every worker's metrics, summed, from the master (a thread of the client's)."""
        server, _thread = start_http_server(port, host, registry=merged_registry())
        self._server = server

    def close_in_worker(self) -> None:
        """In a forked worker: let go of the master's listening socket."""
        close = getattr(self._server, "socket", None)
        if close is not None:
            close.close()

    def remove(self) -> None:
        """Delete the directory; only the master does (workers leave through the same frames)."""
        if os.getpid() == self._owner:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(self.path, ignore_errors=True)

    def worker_exited(self, pid: int) -> None:
        """Drop a dead worker's live gauges (in-flight requests) from the sums."""
        mark_process_dead(pid)  # type: ignore[no-untyped-call]
