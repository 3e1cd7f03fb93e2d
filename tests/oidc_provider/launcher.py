"""Start the test OpenID provider (``server.mjs``, panva/node-oidc-provider) on a loopback port.

``run_oidc_provider(workdir, redirect_uris=..., users=...)`` writes the provider's config, a
test CA and server certificate (HTTPS unless ``tls=False``), starts ``node server.mjs`` and
waits for its discovery document. The provider's signing keys are made at each start.
``make install-test`` and ``.ci/run`` install its npm packages (``npm ci`` in this directory).
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.procs import free_port, spawn, stop
from tests.support import require_interop
from tests.testca import write_server_pki

HERE = Path(__file__).parent
CLIENT_ID = "authsvc"
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class OidcProvider:
    """A running provider: its issuer URL, the CA that signed its certificate, the test client."""

    issuer: str
    ca_file: Path | None
    client_id: str
    client_secret: str
    log: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only the test CA."""
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        return context


def require_provider() -> str:
    """The node binary, once the provider's packages are installed; skip (or fail) otherwise."""
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (HERE / "node_modules" / "oidc-provider").is_dir():
        missing = f"oidc-provider is not installed (npm ci --prefix {HERE})"
    if missing is not None:
        if require_interop():
            pytest.fail(f"{missing}, and REQUIRE_INTEROP=1 forbids skipping")
        pytest.skip(missing)
    assert node is not None
    return node


def _wait_for_discovery(provider: OidcProvider, deadline: float) -> None:
    url = f"{provider.issuer}/.well-known/openid-configuration"
    context = provider.ssl_context() if provider.ca_file else None
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                json.load(response)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the OpenID provider did not start: {provider.log.read_text()[-2000:]}"
                ) from None
            time.sleep(0.1)


@contextmanager
def run_oidc_provider(
    workdir: Path,
    *,
    redirect_uris: Sequence[str],
    users: Mapping[str, Mapping[str, Any]],
    tls: bool = True,
) -> Iterator[OidcProvider]:
    """Run the provider until the block ends; ``users`` maps a login to password and claims."""
    node = require_provider()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    scheme = "https" if tls else "http"
    pki = write_server_pki(workdir / "pki", "OpenID provider") if tls else None
    secret = secrets.token_urlsafe(24)
    config = {
        "issuer": f"{scheme}://127.0.0.1:{port}",
        "port": port,
        "tls": {"cert": str(pki.cert), "key": str(pki.key)} if pki else None,
        "clients": [
            {"client_id": CLIENT_ID, "client_secret": secret, "redirect_uris": list(redirect_uris)}
        ],
        "users": {name: dict(user) for name, user in users.items()},
    }
    config_file = workdir / "provider.json"
    config_file.write_text(json.dumps(config))
    log = workdir / "provider.log"
    proc = spawn([node, str(HERE / "server.mjs"), str(config_file)], log)
    provider = OidcProvider(config["issuer"], pki.ca if pki else None, CLIENT_ID, secret, log)
    try:
        _wait_for_discovery(provider, time.monotonic() + STARTUP_TIMEOUT)
        yield provider
    finally:
        stop(proc)
