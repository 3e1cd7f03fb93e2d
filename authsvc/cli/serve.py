"""``authsvc serve``: check the signing key and certificate, then run the HTTP server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from authsvc.cli.common import CliError, get_config
from authsvc.config import Config

if TYPE_CHECKING:
    from svckit.prom import MultiprocessMetrics

log = logging.getLogger("authsvc")


def new_event_loop() -> tuple[asyncio.AbstractEventLoop, str]:
    """uvloop where it is installed (a dependency on CPython/POSIX), else asyncio's own loop.

    The event loop's transport code is a visible part of the CPU cost of every token request
    (bench/README.md, "What bounds the figures"), and uvloop's is faster; nothing in authsvc
    depends on which loop runs it.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop(), "asyncio"
    return uvloop.new_event_loop(), "uvloop"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser("serve", help="run the token server")
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes sharing the port (default: AUTHSVC_WORKERS, 1)",
    )
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """Load settings and keys (refusing to start on a bad pair), then serve until stopped."""
    config = get_config(args)
    workers = args.workers if getattr(args, "workers", None) is not None else config.server.workers
    if workers < 1:
        raise CliError("--workers must be at least 1")
    if workers == 1:
        return _serve(config, workers, None)
    from svckit.prom import MultiprocessMetrics

    shared = MultiprocessMetrics()
    try:
        return _serve(config, workers, shared)
    finally:
        shared.remove()


def _serve(config: Config, workers: int, shared: MultiprocessMetrics | None) -> int:
    # Imported here: every CLI command imports this module, and only serve needs the server.
    import httplog
    from authsvc.app import create_app, reload_signing_keys
    from authsvc.db import DatabaseUrlError
    from authsvc.errors import ErrorCode
    from authsvc.keys import KeyLoadError, load_signing_material
    from svckit import logs
    from svckit.httpserver import serve as serve_http
    from svckit.tls import reload as reload_tls
    from svckit.tls import server_context

    try:
        material = load_signing_material(config.token.signing_key, config.token.signing_cert)
    except KeyLoadError as exc:
        raise CliError(str(exc)) from None
    server = config.server
    logs.setup(cast(logs.Format, server.log_format), server.log_level)
    httplog.BatchedAccessLogger.json_lines = server.log_format == "json"
    host, port = server.host, server.port
    loop, loop_name = new_event_loop()
    log.info(
        "starting authsvc on %s://%s:%d (database %s, %s key %s, %s, access log %s, %d %s)",
        "https" if server.tls_cert else "http",
        host,
        port,
        config.database.redacted_url,
        material.alg,
        material.kid,
        loop_name,
        "on" if server.access_log else "off",
        workers,
        "worker" if workers == 1 else "workers",
    )
    if server.metrics_host is not None:
        log.info("metrics on http://%s:%d/metrics", server.metrics_host, server.metrics_port)

    def make_context() -> ssl.SSLContext | None:
        if server.tls_cert is None or server.tls_key is None:
            return None
        return server_context(server.tls_cert, server.tls_key)

    access_log = logging.getLogger(httplog.LOGGER_NAME) if server.access_log else None
    try:
        try:
            context = make_context()
        except (OSError, ssl.SSLError) as exc:
            raise CliError(f"cannot use the TLS certificate and key: {exc}") from None
        if shared is not None:
            _serve_workers(config, workers, shared, make_context, access_log)
            return 0
        app = create_app(config, material=material)

        # SIGHUP re-reads the signing keys (rotation without a restart, README "Keys") and
        # the TLS certificate (renewal without dropping connections).
        def on_hangup() -> None:
            reload_signing_keys(app)
            if context is not None and server.tls_cert is not None and server.tls_key is not None:
                reload_tls(context, server.tls_cert, server.tls_key)

        def on_started() -> None:
            loop.add_signal_handler(signal.SIGHUP, on_hangup)

        serve_http(
            app,
            on_started=on_started,
            ssl_context=context,
            host=host,
            port=port,
            header_timeout=server.header_timeout,
            malformed_code=ErrorCode.REQUEST_INVALID.name,
            access_log_class=httplog.BatchedAccessLogger,
            access_log=access_log,
            loop=loop,
        )
    except DatabaseUrlError as exc:
        # Raised while the app starts (its db_ctx creates the engine), before it listens.
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        httplog.BATCH.flush()
    return 0


def _serve_workers(
    config: Config,
    workers: int,
    shared: MultiprocessMetrics,
    make_context: Callable[[], ssl.SSLContext | None],
    access_log: logging.Logger | None,
) -> None:
    """Serve with gunicorn's workers; SIGHUP replaces them, so keys and certificate are re-read."""
    import httplog
    from authsvc.app import create_app
    from authsvc.errors import ErrorCode
    from svckit.workers import WorkerSpec, run_workers

    server = config.server

    def when_ready() -> None:
        # The master serves the workers' merged metrics, so a scrape sees every worker.
        if server.metrics_host is not None and server.metrics_port is not None:
            shared.start_master_exporter(server.metrics_host, server.metrics_port)

    run_workers(
        WorkerSpec(
            make_app=lambda: create_app(config),
            make_ssl=make_context,
            host=server.host,
            port=server.port,
            workers=workers,
            header_timeout=server.header_timeout,
            malformed_code=ErrorCode.REQUEST_INVALID.name,
            access_log=access_log,
            access_log_class=httplog.BatchedAccessLogger,
            when_ready=when_ready,
            post_fork=shared.close_in_worker,
            child_exit=shared.worker_exited,
            proc_name="authsvc",
            certfile=str(server.tls_cert) if server.tls_cert is not None else None,
        )
    )
