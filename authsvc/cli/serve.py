"""``authsvc serve``: check the signing key and certificate, then run the HTTP server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl

from authsvc.cli.common import CliError, get_config

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
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """Load settings and keys (refusing to start on a bad pair), then serve until stopped."""
    # Imported here: every CLI command imports this module, and only serve needs the server.
    import httplog
    from authsvc.app import create_app, reload_signing_keys
    from authsvc.db import DatabaseUrlError
    from authsvc.errors import ErrorCode
    from authsvc.keys import KeyLoadError, load_signing_material
    from svckit.httpserver import serve as serve_http
    from svckit.tls import reload as reload_tls
    from svckit.tls import server_context

    config = get_config(args)
    try:
        material = load_signing_material(config.token.signing_key, config.token.signing_cert)
    except KeyLoadError as exc:
        raise CliError(str(exc)) from None
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host, port = config.server.host, config.server.port
    loop, loop_name = new_event_loop()
    log.info(
        "starting authsvc on %s://%s:%d (database %s, %s key %s, %s, access log %s)",
        "https" if config.server.tls_cert else "http",
        host,
        port,
        config.database.redacted_url,
        material.alg,
        material.kid,
        loop_name,
        "on" if config.server.access_log else "off",
    )
    try:
        app = create_app(config, material=material)

        tls = config.server
        try:
            context = (
                server_context(tls.tls_cert, tls.tls_key)
                if tls.tls_cert is not None and tls.tls_key is not None
                else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise CliError(f"cannot use the TLS certificate and key: {exc}") from None

        # SIGHUP re-reads the signing keys (rotation without a restart, README "Keys") and
        # the TLS certificate (renewal without dropping connections).
        def on_hangup() -> None:
            reload_signing_keys(app)
            if context is not None and tls.tls_cert is not None and tls.tls_key is not None:
                reload_tls(context, tls.tls_cert, tls.tls_key)

        def on_started() -> None:
            loop.add_signal_handler(signal.SIGHUP, on_hangup)

        serve_http(
            app,
            on_started=on_started,
            ssl_context=context,
            host=host,
            port=port,
            header_timeout=config.server.header_timeout,
            malformed_code=ErrorCode.REQUEST_INVALID.name,
            access_log_class=httplog.BatchedAccessLogger,
            access_log=logging.getLogger(httplog.LOGGER_NAME) if config.server.access_log else None,
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
