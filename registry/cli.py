"""The ``registry`` console script: ``serve`` and ``gc`` (Distribution's garbage-collect)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from collections.abc import Mapping, Sequence

import httplog
from registry.app import create_app
from registry.config import Config, ConfigError, load_config
from registry.errcode import ErrorCode
from registry.storage import Storage
from registry.storage.gc import GcReport, collect
from svckit.httpserver import serve as serve_http
from svckit.tls import reload as reload_tls
from svckit.tls import server_context

log = logging.getLogger("registry")

# Distribution reads the configuration path from this variable when none is given.
CONFIG_PATH_ENV = "REGISTRY_CONFIGURATION_PATH"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the serve and gc subcommands."""
    parser = argparse.ArgumentParser(prog="registry", description="OCI distribution registry")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the registry API")
    serve.add_argument("--config", help=f"Distribution config.yml (default: ${CONFIG_PATH_ENV})")
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
    logging.basicConfig(
        level=config.log.python_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _ssl_context(config: Config) -> ssl.SSLContext | None:
    tls = config.http.tls
    if tls is None:
        return None
    context = server_context(tls.certificate, tls.key)
    for ca in tls.clientcas:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(ca))
    return context


def serve(config: Config) -> int:
    """Run the HTTP server in the foreground until SIGINT/SIGTERM; SIGHUP reloads the cert."""
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
        config.storage.rootdirectory,
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


async def _collect(config: Config, *, dry_run: bool, delete_untagged: bool) -> GcReport:
    storage = Storage(config.storage.rootdirectory)
    try:
        return await collect(storage, dry_run=dry_run, delete_untagged=delete_untagged)
    finally:
        await storage.aclose()


def gc(config: Config, *, dry_run: bool, delete_untagged: bool) -> int:
    """Mark and sweep the storage root; print what was (or would be) deleted."""
    root = config.storage.rootdirectory
    if not root.is_dir():
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
            return serve(config)
        return gc(config, dry_run=args.dry_run, delete_untagged=args.delete_untagged)
    except (OSError, ValueError) as exc:
        print(f"registry: error: {exc}", file=sys.stderr)
        return 1
