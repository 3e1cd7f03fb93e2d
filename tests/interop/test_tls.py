"""authsvc over HTTPS as the token realm of our registry, with real clients and a test CA.

skopeo and the docker CLI reach the realm over TLS (they trust the test CA through
SSL_CERT_FILE, as Go's crypto/x509 reads it); plain HTTP to the HTTPS port gets nothing. The
registry itself stays on plain HTTP here; registries with TLS of their own are covered by the
registry's http.tls settings, tested apart.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.procs import spawn, stop
from tests.interop.authsvc_stack import (
    AUTHSVC,
    build_oci_image,
    prepare_authsvc,
    run,
    serve_ours,
)
from tests.support import require_tool
from tests.testca import write_server_pki

pytestmark = pytest.mark.interop

PASSWORD = "tls-Secret-1"


def wait_https(url: str, context: ssl.SSLContext, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2):
                return
        except OSError:
            assert proc.poll() is None, "authsvc exited"
            assert time.monotonic() < deadline, "authsvc did not answer over HTTPS"
            time.sleep(0.1)


def test_clients_use_an_https_realm(tmp_path: Path) -> None:
    skopeo, docker = require_tool("skopeo"), require_tool("docker")
    pki = write_server_pki(tmp_path / "pki", "authsvc")
    svc = prepare_authsvc(tmp_path / "authsvc", "ES256")
    svc.env.update(AUTHSVC_TLS_CERT=str(pki.cert), AUTHSVC_TLS_KEY=str(pki.key))
    svc.add_users({"alice": PASSWORD})
    svc.add_rules([("alice", "team/*", "pull,push", "repository")])
    proc = spawn([AUTHSVC, "serve"], svc.log, env=svc.env)
    try:
        base = f"https://127.0.0.1:{svc.port}"
        wait_https(f"{base}/readyz", ssl.create_default_context(cafile=str(pki.ca)), proc)
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{svc.port}/readyz", timeout=5)
        assert "starting authsvc on https://" in svc.log_text()
        env = {**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
        env.pop("REGISTRY_AUTH_FILE", None)
        env["SSL_CERT_FILE"] = str(pki.ca)
        with serve_ours(tmp_path / "reg", realm=f"{base}/auth", bundle=svc.cert) as reg:
            image = build_oci_image(tmp_path / "layout", text="over tls")
            target = f"docker://{reg.host}/team/app:v1"
            creds = f"alice:{PASSWORD}"
            run([skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds,
                 image.ref, target], env=env)  # fmt: skip
            run([skopeo, "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds,
                 target, f"dir:{tmp_path / 'pulled'}"], env=env)  # fmt: skip
            docker_env = {
                **env,
                "DOCKER_CONFIG": str(tmp_path / "docker"),
                "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
            }
            login = run([docker, "login", "-u", "alice", "--password-stdin", reg.host],
                        env=docker_env, input=PASSWORD + "\n")  # fmt: skip
            assert "Login Succeeded" in login.stdout + login.stderr
    finally:
        stop(proc)
