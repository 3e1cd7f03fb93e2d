"""The registry's app factory: state, lifecycle contexts, routes and the dispatcher middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from registry.appkeys import CONFIG, METRICS, NOTIFIER, STORAGE, UPLOAD_PURGER, VERIFIER
from registry.auth import TokenVerifier
from registry.config import Config
from registry.handlers import ROUTE_TABLES
from registry.metrics import RegistryMetrics
from registry.middlewares import make_dispatcher, on_prepare
from registry.notifications import Notifier
from registry.purger import UploadPurger
from registry.storage import Storage
from svckit import prom
from svckit.logs import request_id_middleware
from svckit.memory import trimmer_ctx

log = logging.getLogger(__name__)

# The server's socket read size; larger reads mean fewer, bigger chunks per upload.
READ_BUFSIZE = 256 << 10


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the storage root for the app's lifetime (its thread pool is closed afterwards)."""
    cfg = app[CONFIG].storage
    cfg.rootdirectory.mkdir(parents=True, exist_ok=True)
    metrics = app.get(METRICS)
    storage = Storage(
        cfg.rootdirectory,
        delete_enabled=cfg.delete_enabled,
        max_blob_size=cfg.max_blob_size,
        observe=metrics.observe_storage if metrics is not None else None,
    )
    app[STORAGE] = storage
    yield
    await storage.aclose()


async def upload_purger_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the purger in the background unless it is disabled or the registry is read-only."""
    cfg = app[CONFIG].storage
    if not cfg.uploadpurging.enabled or cfg.readonly:
        yield
        return
    purger = UploadPurger(app[STORAGE], cfg.uploadpurging)
    app[UPLOAD_PURGER] = purger
    task = asyncio.create_task(purger.run_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def notifier_ctx(app: web.Application) -> AsyncIterator[None]:
    """Deliver webhook events while the app runs; at shutdown drain them for a bounded time."""
    config = app[CONFIG]
    if not config.notifications.active:
        yield
        return
    metrics = app.get(METRICS)
    notifier = Notifier(
        config.notifications,
        config.http.port,
        metrics.notifications if metrics is not None else None,
    )
    await notifier.start()
    app[NOTIFIER] = notifier
    for cfg in config.notifications.endpoints:
        # The URL's host only: a URL may carry credentials, and logs must not.
        host = urlsplit(cfg.url).hostname
        state = "disabled, skipped" if cfg.disabled else f"sending events to {host}"
        log.info("notifications endpoint %s: %s", cfg.name, state)
    yield
    await notifier.close()


async def debug_listener_ctx(app: web.Application) -> AsyncIterator[None]:
    """Distribution's debug address, serving the metrics (one process; with workers the
    master serves every worker's, summed)."""
    http = app[CONFIG].http
    metrics = app.get(METRICS)
    if metrics is None or http.debug_host is None or http.debug_port is None:
        yield
        return
    if prom.multiprocess():
        yield
        return
    async for _ in metrics.serve(http.debug_host, http.debug_port, http.prometheus_path):
        yield


def create_app(config: Config) -> web.Application:
    """Build the registry application for a configuration (tests call this too)."""
    verifier = None
    if config.auth is not None:
        verifier = TokenVerifier(
            realm=config.auth.realm,
            service=config.auth.service,
            issuer=config.auth.issuer,
            rootcertbundle=config.auth.rootcertbundle,
            jwks=config.auth.jwks,
        )
    else:
        log.warning(
            "auth.token is not configured: the registry accepts every request without "
            "authentication (set REGISTRY_AUTH_TOKEN_* to require tokens)"
        )
    if config.http.secret is None:
        # Distribution warns here too: replicas behind one balancer need a shared secret.
        log.info("http.secret is not set: upload URLs carry no signed _state")
    for key in config.ignored:
        log.info("configuration key %s is accepted but has no effect", key)

    metrics = RegistryMetrics() if config.http.prometheus else None
    if config.http.debug_host is not None and metrics is None:
        log.info("http.debug.addr is set but prometheus is not enabled: nothing is served there")
    middlewares: list[Middleware] = [request_id_middleware]
    if metrics is not None:
        middlewares.append(metrics.middleware())
    middlewares.append(make_dispatcher(verifier))
    app = web.Application(middlewares=middlewares, handler_args={"read_bufsize": READ_BUFSIZE})
    app[CONFIG] = config
    if metrics is not None:
        app[METRICS] = metrics
    app[VERIFIER] = verifier
    app.cleanup_ctx.append(storage_ctx)
    app.cleanup_ctx.append(upload_purger_ctx)
    app.cleanup_ctx.append(notifier_ctx)
    app.cleanup_ctx.append(debug_listener_ctx)
    app.cleanup_ctx.append(trimmer_ctx())
    app.on_response_prepare.append(on_prepare)
    if metrics is not None:
        app.on_response_prepare.append(metrics.on_prepare)
    for table in ROUTE_TABLES:
        app.add_routes(table)
    return app
