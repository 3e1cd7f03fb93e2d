"""The aiohttp application factory: state, resources (cleanup contexts), routes, middlewares."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import aiohttp_jinja2
import jinja2
from aiohttp import web

from authsvc import db, metrics
from authsvc.access_tokens import AccessTokenIssuer
from authsvc.api import add_api_routes
from authsvc.appkeys import (
    ACCESS,
    ACCESS_TOKENS,
    AUDIT,
    AUTHENTICATORS,
    CONFIG,
    DATABASE_FILE,
    ENGINE,
    JWKS,
    LDAP_POOL,
    OIDC,
    REFRESH_TOKENS,
    SERVICES,
    SESSIONMAKER,
    SIGNER,
    TRUSTED_PROXIES,
    VERIFY_POOL,
    WEB_SESSIONS,
)
from authsvc.audit import AuditWriter
from authsvc.config import Config
from authsvc.handlers import ROUTES
from authsvc.jwk import KidFormat, published_jwks
from authsvc.jwt_signer import JwtSigner
from authsvc.keys import (
    KeyLoadError,
    SigningMaterial,
    load_certificates,
    load_signing_material,
)
from authsvc.middlewares import body_timeout_middleware, error_middleware
from authsvc.netaddr import parse_networks
from authsvc.services import build_services
from authsvc.web import pages
from authsvc.web.oidc import OidcClient
from authsvc.web.sessions import WebSessions
from svckit import prom
from svckit.logs import request_id_middleware
from svckit.memory import trimmer_ctx

# Token requests are a handful of form fields; refuse anything larger early.
MAX_REQUEST_BODY = 64 * 1024
# Added to the verify threads' nice value (0..19); the event loop keeps the process's own.
VERIFY_THREAD_NICENESS = 10
# Concurrent LDAP binds; they mostly wait on the network, and the bind cache keeps them rare.
LDAP_THREADS = 4

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]

log = logging.getLogger("authsvc")


def signer_ctx(material: SigningMaterial | None) -> CleanupCtx:
    """Load the signing key once (or use the pre-loaded one) and keep the key object."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        token = app[CONFIG].token
        loaded = material or load_signing_material(token.signing_key, token.signing_cert)
        app[SIGNER] = JwtSigner(
            loaded, header=token.header, kid_format=cast(KidFormat, token.kid_format)
        )
        published = load_certificates(token.published_certs) if token.published_certs else ()
        app[JWKS] = published_jwks(loaded.key.public_key(), published, token.kid_format)
        yield

    return ctx


def reload_signing_keys(app: web.Application) -> str:
    """Re-read the signing key, its certificate and the published certificates (on SIGHUP).

    The files are replaced first (the next key becomes the active one, the old certificate
    joins the published ones), then the process is told; a pair that does not load is logged
    and the keys in use stay. Returns the active key ID.
    """
    token = app[CONFIG].token
    try:
        loaded = load_signing_material(token.signing_key, token.signing_cert)
        published = load_certificates(token.published_certs) if token.published_certs else ()
    except KeyLoadError as exc:
        log.error("signing keys not reloaded, the old ones stay in use: %s", exc)
        return app[SIGNER].kid
    app[SIGNER].use(loaded)
    keyset = published_jwks(loaded.key.public_key(), published, token.kid_format)
    app[JWKS].clear()
    app[JWKS].update(keyset)
    log.info(
        "signing keys reloaded: %s key %s, %d published",
        loaded.alg,
        app[SIGNER].kid,
        len(keyset["keys"]),
    )
    return app[SIGNER].kid


def lower_thread_priority() -> None:
    """Run the calling thread at a lower CPU priority than the event loop (Linux: per thread).

    argon2id keeps a core busy for each verification; with as many verify threads as cores the
    event loop would get only its fair share of CPU, and token requests that need no password
    would queue behind slow logins. On Linux each thread is a schedulable task, so
    ``setpriority`` on the thread id deprioritises just this thread.
    """
    if sys.platform == "linux":
        tid = threading.get_native_id()
        with contextlib.suppress(OSError):
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + VERIFY_THREAD_NICENESS))


async def verify_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """The threads that run password verification, so argon2id never runs on the event loop."""
    threads = app[CONFIG].passwords.verify_threads
    pool = ThreadPoolExecutor(
        max_workers=threads,
        thread_name_prefix="authsvc-verify",
        initializer=lower_thread_priority,
    )
    app[VERIFY_POOL] = pool
    yield
    pool.shutdown(wait=True, cancel_futures=True)


async def ldap_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """The threads that wait on LDAP binds (python-ldap blocks), apart from the argon2 ones.

    A directory that hangs until the connect timeout then holds only these threads, and local
    users' password checks go on. Threads start on first use, so without LDAP none exist.
    """
    pool = ThreadPoolExecutor(max_workers=LDAP_THREADS, thread_name_prefix="authsvc-ldap")
    app[LDAP_POOL] = pool
    yield
    pool.shutdown(wait=True, cancel_futures=True)


async def db_ctx(app: web.Application) -> AsyncIterator[None]:
    """The database engine and session factory; the pool is disposed of on shutdown."""
    engine = db.make_engine(app[CONFIG].database)
    app[ENGINE] = engine
    app[DATABASE_FILE] = db.DatabaseFileWatch(db.sqlite_file(app[CONFIG].database.url))
    app[SESSIONMAKER] = db.make_sessionmaker(engine)
    yield
    await engine.dispose()


async def audit_ctx(app: web.Application) -> AsyncIterator[None]:
    """The audit trail's background writer; shutdown writes what is still queued."""
    config = app[CONFIG]
    writer = AuditWriter(
        app[SESSIONMAKER], enabled=config.audit.enabled, retention=config.audit.retention
    )
    writer.start()
    app[AUDIT] = writer
    yield
    await writer.close()


async def services_ctx(app: web.Application) -> AsyncIterator[None]:
    """The service objects the handlers call: authentication, access decisions, signing."""
    services = build_services(
        app[CONFIG], app[SESSIONMAKER], app[VERIFY_POOL], ldap_executor=app[LDAP_POOL]
    )
    app[SERVICES] = services
    app[AUTHENTICATORS] = services.authenticators
    app[REFRESH_TOKENS] = services.refresh_tokens
    app[ACCESS] = services.access
    app[ACCESS_TOKENS] = AccessTokenIssuer(app[SIGNER], app[CONFIG].token)
    yield
    # Last-login writes still running finish before the database pool closes.
    await services.local.bookkeeping.drain()


async def web_ctx(app: web.Application) -> AsyncIterator[None]:
    """The account page's sessions, and its OpenID provider client when an issuer is set."""
    config = app[CONFIG]
    app[WEB_SESSIONS] = WebSessions(app[SESSIONMAKER], config.web.session_ttl)
    if config.oidc.issuer:
        app[OIDC] = OidcClient(config.oidc)
    yield


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """The metrics listener (``AUTHSVC_METRICS_LISTEN``), when this process serves it.

    With worker processes the master serves the workers' merged metrics instead
    (``authsvc.cli.serve``), so no worker binds the port.
    """
    server = app[CONFIG].server
    if server.metrics_host is None or server.metrics_port is None or prom.multiprocess():
        yield
        return
    async for _ in metrics.serve_metrics(server.metrics_host, server.metrics_port):
        yield


def create_app(config: Config, *, material: SigningMaterial | None = None) -> web.Application:
    """Build the authsvc application; ``material`` skips loading the key from the config paths."""
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics.http_metrics_middleware,
            error_middleware,
            body_timeout_middleware,
        ],
        client_max_size=MAX_REQUEST_BODY,
    )
    app[CONFIG] = config
    app[TRUSTED_PROXIES] = parse_networks(config.server.trusted_proxies)
    app.cleanup_ctx.extend(
        [
            signer_ctx(material),
            verify_pool_ctx,
            ldap_pool_ctx,
            db_ctx,
            audit_ctx,
            services_ctx,
            web_ctx,
            metrics_ctx,
            trimmer_ctx(),
        ]
    )
    for table in ROUTES:
        app.add_routes(table)
    add_api_routes(app)
    app.add_routes(pages.routes)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("authsvc.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    return app
