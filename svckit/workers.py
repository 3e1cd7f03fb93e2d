"""Several worker processes on one port, managed by gunicorn with aiohttp's own worker class.

Why gunicorn: it is the process manager aiohttp documents and ships a worker for, and it already
does what a hand-written pre-fork loop would get wrong: it binds the socket once in the master
and shares it with the workers, restarts a worker that dies, and on SIGTERM lets every worker
finish its in-flight requests (``graceful_timeout``) before it exits. On SIGHUP it starts fresh
workers and retires the old ones gracefully, so new workers read renewed keys and certificates
while open connections finish on the old ones.

Each worker builds its own application after the fork (its own database pool, threads and
caches: nothing made in the master is shared), and serves it with ``GuardedAppRunner``, so
workers answer malformed requests and slow clients exactly as a single process does.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.worker import GunicornUVLoopWebWorker, GunicornWebWorker
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from svckit.httpserver import GuardedAppRunner, GuardedRequestHandler

log = logging.getLogger("svckit.workers")


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What every worker needs to serve; the callables run in the worker, after the fork."""

    make_app: Callable[[], web.Application]
    make_ssl: Callable[[], ssl.SSLContext | None]
    host: str
    port: int
    workers: int
    header_timeout: float
    malformed_code: str
    access_log: logging.Logger | None = None
    access_log_class: type[Any] | None = None
    graceful_timeout: float = 30.0
    # Run in the master once the socket is bound (the metrics listener), in each worker
    # right after the fork, and in the master when a worker has exited (with its pid).
    when_ready: Callable[[], None] | None = None
    post_fork: Callable[[], None] | None = None
    child_exit: Callable[[int], None] | None = None
    proc_name: str = "svckit"
    # The certificate file when serving HTTPS: gunicorn checks that it exists and takes its
    # presence to mean TLS; the context itself always comes from make_ssl.
    certfile: str | None = None
    # uvloop where installed, else asyncio's loop. The registry says no: uvloop has no
    # loop.sendfile, so aiohttp would copy every blob through user space instead of sendfile(2).
    uvloop: bool = True


# Set in the master before gunicorn forks; the workers inherit it.
_SPEC: WorkerSpec | None = None


def _spec() -> WorkerSpec:
    assert _SPEC is not None, "run_workers() sets the spec before any worker starts"
    return _SPEC


async def _make_runner() -> web.AppRunner:
    """The worker's app, served by the guarded runner (aiohttp's worker accepts a runner)."""
    spec = _spec()
    GuardedRequestHandler.malformed_code = spec.malformed_code
    kwargs: dict[str, Any] = {
        "keepalive_timeout": spec.header_timeout,
        "access_log": spec.access_log,
        # In-flight requests get most of gunicorn's grace period before the worker is killed.
        "shutdown_timeout": spec.graceful_timeout * 0.95,
    }
    if spec.access_log_class is not None:
        kwargs["access_log_class"] = spec.access_log_class
    return GuardedAppRunner(spec.make_app(), handle_signals=False, **kwargs)


class _SslFromSpec:
    """The worker's TLS context: the services' own (TLS 1.2+), not one built from gunicorn's."""

    def _create_ssl_context(self, cfg: Any) -> ssl.SSLContext | None:
        return _spec().make_ssl()


class AiohttpWorker(_SslFromSpec, GunicornWebWorker):  # type: ignore[misc]
    """aiohttp's gunicorn worker on asyncio's event loop."""


class AiohttpUVLoopWorker(_SslFromSpec, GunicornUVLoopWebWorker):  # type: ignore[misc]
    """aiohttp's gunicorn worker on uvloop (authsvc's single-process loop too)."""


def _worker_class(spec: WorkerSpec) -> str:
    """The same event loop as the service runs on in a single process."""
    if not spec.uvloop:
        return f"{__name__}.AiohttpWorker"
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return f"{__name__}.AiohttpWorker"
    return f"{__name__}.AiohttpUVLoopWorker"


class ServiceLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, writing through the service's own handler (text or JSON lines)."""

    def setup(self, cfg: Any) -> None:
        """Let gunicorn's records propagate to the root handler that svckit.logs set up."""
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, spec: WorkerSpec) -> None:
        self._spec = spec
        super().__init__()

    def load_config(self) -> None:
        spec = self._spec
        host = f"[{spec.host}]" if ":" in spec.host else spec.host
        self.cfg.set("bind", [f"{host}:{spec.port}"])
        self.cfg.set("workers", spec.workers)
        self.cfg.set("worker_class", _worker_class(spec))
        self.cfg.set("graceful_timeout", int(spec.graceful_timeout))
        self.cfg.set("proc_name", spec.proc_name)
        # The services log their own requests (httplog); gunicorn's access log stays off.
        self.cfg.set("accesslog", None)
        self.cfg.set("logger_class", f"{__name__}.ServiceLogger")
        if spec.certfile is not None:
            self.cfg.set("certfile", spec.certfile)
        # gunicorn 25.1+ opens a control socket under $HOME by default; these services are
        # managed with signals, and a socket in root's home is one more thing to secure.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)
        if spec.when_ready is not None:
            when_ready = spec.when_ready
            self.cfg.set("when_ready", lambda _arbiter: when_ready())
        if spec.post_fork is not None:
            post_fork = spec.post_fork
            self.cfg.set("post_fork", lambda _arbiter, _worker: post_fork())
        if spec.child_exit is not None:
            child_exit = spec.child_exit
            self.cfg.set("child_exit", lambda _arbiter, worker: child_exit(worker.pid))

    def load(self) -> Callable[[], Awaitable[web.AppRunner]]:
        return _make_runner


def run_workers(spec: WorkerSpec) -> None:
    """Serve with ``spec.workers`` processes until SIGTERM or SIGINT (blocking)."""
    global _SPEC
    _SPEC = spec
    _Gunicorn(spec).run()
