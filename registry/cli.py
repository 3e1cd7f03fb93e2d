"""The ``registry`` console script: ``serve`` and ``gc`` (Distribution's garbage-collect)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import secrets
import signal
import ssl
import sys
from collections.abc import Mapping, Sequence
from typing import cast

import httplog
from registry.app import create_app
from registry.config import Config, ConfigError, load_config
from registry.errcode import ErrorCode
from registry.storage import Storage
from registry.storage.gc import GcReport, collect
from svckit import logs
from svckit.httpserver import serve as serve_http
from svckit.prom import MultiprocessMetrics
from svckit.tls import reload as reload_tls
from svckit.tls import server_context
from svckit.workers import WorkerSpec, run_workers

log = logging.getLogger("registry")

# Distribution reads the configuration path from this variable when none is given.
CONFIG_PATH_ENV = "REGISTRY_CONFIGURATION_PATH"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the serve and gc subcommands."""
    parser = argparse.ArgumentParser(prog="registry", description="OCI distribution registry")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the registry API")
    serve.add_argument("--config", help=f"Distribution config.yml (default: ${CONFIG_PATH_ENV})")
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes sharing http.addr (default: http.workers, 1)",
    )
    gc = sub.add_parser(
        "gc", aliases=["garbage-collect"], help="delete blobs no manifest references"
    )
    gc.add_argument("--config", help=f"Distribution config.yml (default: ${CONFIG_PATH_ENV})")
    gc.add_argument("--dry-run", "-d", action="store_true", help="only report what would go")
    gc.add_argument(
        "--delete-untagged", "-m", action="store_true", help="also delete untagged manifests"
    )
    return parser


def _setup_logging(config: Config) -> None:
    logs.setup(cast(logs.Format, config.log.formatter), config.log.level)
    httplog.BatchedAccessLogger.json_lines = config.log.formatter == "json"


def _ssl_context(config: Config) -> ssl.SSLContext | None:
    tls = config.http.tls
    if tls is None:
        return None
    context = server_context(tls.certificate, tls.key)
    for ca in tls.clientcas:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(ca))
    return context


def serve(config: Config, workers: int | None = None) -> int:
    """Run the HTTP server in the foreground until SIGINT/SIGTERM; SIGHUP reloads the cert."""
    workers = workers if workers is not None else config.http.workers
    if workers < 1:
        print("registry: error: --workers must be at least 1", file=sys.stderr)
        return 1
    if workers > 1:
        return _serve_workers(config, workers)
    app = create_app(config)
    context = _ssl_context(config)
    tls = config.http.tls

    def on_started() -> None:
        if context is not None and tls is not None:
            asyncio.get_running_loop().add_signal_handler(
                signal.SIGHUP, reload_tls, context, tls.certificate, tls.key
            )

    scheme = "https" if config.http.tls else "http"
    log.info(
        "registry listening on %s://%s:%d, storage %s",
        scheme,
        config.http.host,
        config.http.port,
        config.storage.describe(),
    )
    try:
        serve_http(
            app,
            host=config.http.host,
            port=config.http.port,
            header_timeout=config.http.header_timeout,
            malformed_code=ErrorCode.UNSUPPORTED.name,
            ssl_context=context,
            on_started=on_started,
            access_log_class=httplog.BatchedAccessLogger,
            access_log=logging.getLogger(httplog.LOGGER_NAME) if config.log.accesslog else None,
        )
    finally:
        # Lines still waiting for their batch when the server stopped.
        httplog.BATCH.flush()
    return 0


def _serve_workers(config: Config, workers: int) -> int:
    """Serve with gunicorn's workers; SIGHUP replaces them (and so re-reads the certificate)."""
    if config.http.secret is None:
        # Uploads move between workers as between replicas: they must sign upload state with
        # one key. Made before the fork, so every worker (and every replacement) shares it.
        http = dataclasses.replace(config.http, secret=secrets.token_urlsafe(32))
        config = dataclasses.replace(config, http=http)
    shared = MultiprocessMetrics()
    http = config.http

    def when_ready() -> None:
        if http.prometheus and http.debug_host is not None and http.debug_port is not None:
            shared.start_master_exporter(http.debug_host, http.debug_port)

    log.info(
        "registry listening on %s://%s:%d with %d workers, storage %s",
        "https" if http.tls else "http",
        http.host,
        http.port,
        workers,
        config.storage.describe(),
    )
    try:
        run_workers(
            WorkerSpec(
                make_app=lambda: create_app(config),
                make_ssl=lambda: _ssl_context(config),
                host=http.host,
                port=http.port,
                workers=workers,
                header_timeout=http.header_timeout,
                malformed_code=ErrorCode.UNSUPPORTED.name,
                access_log=logging.getLogger(httplog.LOGGER_NAME) if config.log.accesslog else None,
                access_log_class=httplog.BatchedAccessLogger,
                when_ready=when_ready,
                post_fork=shared.close_in_worker,
                child_exit=shared.worker_exited,
                proc_name="registry",
                uvloop=False,
                certfile=str(http.tls.certificate) if http.tls is not None else None,
            )
        )
    finally:
        httplog.BATCH.flush()
        shared.remove()
    return 0


async def _collect(config: Config, *, dry_run: bool, delete_untagged: bool) -> GcReport:
    storage = Storage.from_config(config.storage)
    try:
        return await collect(storage, dry_run=dry_run, delete_untagged=delete_untagged)
    finally:
        await storage.aclose()


def gc(config: Config, *, dry_run: bool, delete_untagged: bool) -> int:
    """Mark and sweep the storage root; print what was (or would be) deleted."""
    root = config.storage.rootdirectory
    if config.storage.s3 is None and not root.is_dir():
        print(f"registry: error: storage root {root} does not exist", file=sys.stderr)
        return 1
    report = asyncio.run(_collect(config, dry_run=dry_run, delete_untagged=delete_untagged))
    verb = "eligible for deletion" if dry_run else "deleted"
    for name, digest in report.deleted_manifests:
        print(f"{name}: manifest {verb}: {digest}")
    for digest in report.deleted_blobs:
        print(f"blob {verb}: {digest}")
    print(report.summary())
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """Entry point: 0 on success, 1 on a configuration or runtime error, 2 on usage errors."""
    args = build_parser().parse_args(argv)
    path = args.config or environ.get(CONFIG_PATH_ENV) or None
    try:
        config = load_config(path, environ)
    except ConfigError as exc:
        print(f"registry: configuration error: {exc}", file=sys.stderr)
        return 1
    _setup_logging(config)
    try:
        if args.command == "serve":
            return serve(config, args.workers)
        return gc(config, dry_run=args.dry_run, delete_untagged=args.delete_untagged)
    except (OSError, ValueError) as exc:
        print(f"registry: error: {exc}", file=sys.stderr)
        return 1
