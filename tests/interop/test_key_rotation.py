"""Rotating the token signing key while a client pulls in a loop: not one pull may fail.

The registries already trust both keys (step 2 of the README's rotation: the new bundle is
in place). authsvc starts with the old key active and the next one published; mid-loop the key
files are swapped (the next key becomes active, the old certificate is published) and authsvc
gets SIGHUP, which reloads them without a restart. skopeo keeps copying the image out, each
copy with a fresh token, against Debian's Distribution 2.8 and against our registry.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import urllib.request
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from bench.services import Registry
from tests.interop.authsvc_stack import (
    AUTHSVC,
    build_oci_image,
    prepare_authsvc,
    run,
    serve_authsvc,
    serve_distribution,
    serve_ours,
)
from tests.support import require_tool, wait_until

pytestmark = pytest.mark.interop

PASSWORD = "rotation-Secret-1"


def token_kid(port: int) -> str:
    auth = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/auth?service=registry", headers={"Authorization": f"Basic {auth}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token = json.load(response)["token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    return str(header["kid"])


@pytest.fixture(params=["ours", "distribution"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_rotation_fails_no_pull(tmp_path: Path, kind: str) -> None:
    skopeo = require_tool("skopeo")
    binary = require_tool("docker-registry") if kind == "distribution" else ""
    svc = prepare_authsvc(tmp_path / "authsvc", "ES256")
    keys = Path(svc.env["AUTHSVC_SIGNING_KEY"]).parent
    nxt = tmp_path / "next"
    next_kid = run([AUTHSVC, "keys", "generate", "--out", str(nxt)], env=svc.env).stdout.strip()
    published = tmp_path / "published.crt"
    published.write_bytes((nxt / "token.crt").read_bytes())
    svc.env["AUTHSVC_PUBLISHED_CERTS"] = str(published)
    svc.add_users({"alice": PASSWORD})
    svc.add_rules([("alice", "team/*", "pull,push", "repository")])
    # Step 2 already done: the registries trust the old and the next key.
    bundle = tmp_path / "bundle.crt"
    bundle.write_bytes(svc.cert.read_bytes() + (nxt / "token.crt").read_bytes())
    registry: AbstractContextManager[Registry] = (
        serve_distribution(binary, tmp_path / "reg", realm=svc.realm, bundle=bundle)
        if kind == "distribution"
        else serve_ours(tmp_path / "reg", realm=svc.realm, bundle=bundle)
    )
    image = build_oci_image(tmp_path / "layout", text="rotation")
    env = {**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    env.pop("REGISTRY_AUTH_FILE", None)
    creds = f"alice:{PASSWORD}"
    with serve_authsvc(svc), registry as reg:
        ref = f"docker://{reg.host}/team/app:v1"
        run([skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds,
             image.ref, ref], env=env)  # fmt: skip
        codes: list[int] = []
        errors: list[str] = []
        stop = threading.Event()

        def pull_loop() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                out = tmp_path / f"pull-{n}"
                pull = [skopeo, "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds]
                result = run([*pull, ref, f"dir:{out}"], env=env, check=False)
                codes.append(result.returncode)
                if result.returncode:
                    errors.append(result.stderr)

        puller = threading.Thread(target=pull_loop)
        puller.start()
        try:
            wait_until(lambda: len(codes) >= 3, "pulls before the rotation")
            old_kid = token_kid(svc.port)
            # Step 3: the next key becomes the active one; the old certificate is published.
            published.write_bytes(svc.cert.read_bytes())
            for name in ("token.key", "token.crt"):
                staged = keys / f"{name}.new"
                staged.write_bytes((nxt / name).read_bytes())
                staged.chmod(0o600)
                os.replace(staged, keys / name)
            assert svc.proc is not None
            os.kill(svc.proc.pid, signal.SIGHUP)
            wait_until(lambda: token_kid(svc.port) == next_kid, "tokens signed by the next key")
            rotated_at = len(codes)
            wait_until(lambda: len(codes) >= rotated_at + 3, "pulls after the rotation")
        finally:
            stop.set()
            puller.join()
        assert old_kid != next_kid
        assert errors == [] and all(code == 0 for code in codes), errors
        assert len(codes) >= 6
        with urllib.request.urlopen(f"http://127.0.0.1:{svc.port}/.well-known/jwks.json") as r:
            kids = [k["kid"] for k in json.load(r)["keys"]]
        assert kids == [next_kid, old_kid]
        assert "signing keys reloaded" in svc.log_text()
