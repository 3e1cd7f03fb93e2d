"""TLS for both servers: TLS 1.2 and 1.3 only, optional client certificates, reload in place.

``server_context`` builds the context the HTTP server listens with. ``reload`` loads a new
certificate and key into that same context: connections already open keep their session, and
every handshake from then on presents the new certificate, so a renewed certificate is picked
up on SIGHUP without dropping anyone (the servers call it from their SIGHUP handler).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

log = logging.getLogger("svckit.tls")


def server_context(
    certificate: Path, key: Path, *, client_cas: Path | None = None
) -> ssl.SSLContext:
    """A server context with ``certificate``/``key``; ``client_cas`` requires client certs."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # RFC 8996 deprecates TLS 1.0 and 1.1; Python's default minimum may still allow them.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate, key)
    if client_cas is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=str(client_cas))
    return context


def reload(context: ssl.SSLContext, certificate: Path, key: Path) -> bool:
    """Load a renewed certificate into ``context``; on failure keep the old one and say so."""
    try:
        context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as exc:
        log.error("TLS certificate not reloaded, the old one stays in use: %s", exc)
        return False
    log.info("TLS certificate reloaded from %s", certificate)
    return True
