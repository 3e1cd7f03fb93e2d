"""``authsvc serve``: check the signing key and certificate, then run the HTTP server."""

from __future__ import annotations

import argparse
import logging

from authsvc.cli.common import CliError, get_config

log = logging.getLogger("authsvc")
# The log line already carries a timestamp; dropping aiohttp's second one (%t) and the
# referer keeps the per-request logging cost down on the token hot path (issue 5 T1/T2).
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs "%{User-Agent}i"'


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser("serve", help="run the token server")
    parser.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    """Load settings and keys (refusing to start on a bad pair), then serve until stopped."""
    # Imported here: every CLI command imports this module, and only serve needs the server.
    from aiohttp import web

    from authsvc.app import create_app
    from authsvc.keys import KeyLoadError, load_signing_material

    config = get_config(args)
    try:
        material = load_signing_material(config.token.signing_key, config.token.signing_cert)
    except KeyLoadError as exc:
        raise CliError(str(exc)) from None
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    host, port = config.server.host, config.server.port
    log.info(
        "starting authsvc on http://%s:%d (database %s, %s key %s)",
        host,
        port,
        config.database.redacted_url,
        material.alg,
        material.kid,
    )
    try:
        web.run_app(
            create_app(config, material=material),
            host=host,
            port=port,
            print=None,
            access_log_format=ACCESS_LOG_FORMAT,
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return 0
