"""authsvc tokens in front of both registries, driven by skopeo and by plain HTTP.

skopeo logs in, copies, inspects, lists and deletes, and is denied exactly where the ACL says;
the rotation bundle and the catalog are checked with tokens fetched directly. The same test
bodies run against Distribution 2.8 and our registry (the ``stack`` fixture in conftest.py), so
any difference between the two shows up as a failure on one side only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jwt
import pytest

from bench.ociimage import build_image
from bench.services import SERVICE
from svckit.catalog_filter import CLAIM as CATALOG_CLAIM
from tests.interop.authsvc_stack import Authsvc, serve_authsvc
from tests.interop.clients import PASSWORDS, Stack, creds, refused, skopeo

pytestmark = pytest.mark.interop


# --- skopeo -------------------------------------------------------------------------------


def test_skopeo_login_and_wrong_password(stack: Stack) -> None:
    authfile = stack.tmp / "skopeo-auth.json"
    base = ["login", "--tls-verify=false", "--authfile", str(authfile), stack.registry.host]
    skopeo(stack, *base, "-u", "alice", "-p", PASSWORDS["alice"])
    assert stack.registry.host in json.loads(authfile.read_text())["auths"]
    code, _, err = skopeo(stack, *base, "-u", "alice", "-p", "wrong", check=False)
    assert code != 0
    # containers/image words a 401 from the token server as "invalid username/password".
    assert "invalid username" in err, err


def test_skopeo_copy_inspect_list_delete(stack: Stack) -> None:
    ref = f"docker://{stack.repo('team/app')}:v1"
    skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("alice"),
        stack.image.ref, ref,
    )  # fmt: skip
    _, out, _ = skopeo(stack, "inspect", "--tls-verify=false", "--creds", creds("reader"), ref)
    info = json.loads(out)
    assert info["Digest"] == stack.image.manifest_digest
    assert info["Layers"] == list(stack.image.layer_digests)
    _, out, _ = skopeo(
        stack, "list-tags", "--tls-verify=false", "--creds", creds("reader"),
        f"docker://{stack.repo('team/app')}",
    )  # fmt: skip
    assert json.loads(out)["Tags"] == ["v1"]
    # reader may pull but not delete; alice may delete.
    code, _, err = skopeo(
        stack, "delete", "--tls-verify=false", "--creds", creds("reader"), ref, check=False
    )
    assert code != 0
    assert refused(err), err
    skopeo(stack, "delete", "--tls-verify=false", "--creds", creds("alice"), ref)
    code, _, _ = skopeo(
        stack, "inspect", "--tls-verify=false", "--creds", creds("reader"), ref, check=False
    )
    assert code != 0


def blob_files(layout: Path) -> dict[str, bytes]:
    """Every blob of an OCI layout, by its file name (the hex digest)."""
    return {p.name: p.read_bytes() for p in (layout / "blobs" / "sha256").iterdir()}


def test_skopeo_copy_in_and_out_is_byte_identical(stack: Stack) -> None:
    # Two 3 MiB random layers, stored uncompressed inside gzip so skopeo sends them as they
    # are: what comes back out of the registry must be the very bytes that went in.
    src = stack.tmp / "big-in"
    build_image(src, "v1", layers=2, layer_size=3 * 1024 * 1024)
    ref = f"docker://{stack.repo('team/big')}:v1"
    skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("alice"),
        f"oci:{src}:v1", ref,
    )  # fmt: skip
    out = stack.tmp / "big-out"
    skopeo(
        stack, "copy", "--quiet", "--src-tls-verify=false", "--src-creds", creds("reader"),
        ref, f"oci:{out}:v1",
    )  # fmt: skip
    sent, received = blob_files(src), blob_files(out)
    assert set(received) == set(sent)
    for name, data in sent.items():
        assert received[name] == data, f"blob {name} differs after the round trip"
    # Every blob's bytes hash to its name, and the manifest digest did not change.
    assert all(hashlib.sha256(d).hexdigest() == n for n, d in received.items())
    src_index = json.loads((src / "index.json").read_text())
    out_index = json.loads((out / "index.json").read_text())
    assert out_index["manifests"][0]["digest"] == src_index["manifests"][0]["digest"]


def test_skopeo_denials(stack: Stack) -> None:
    # The read-only user cannot push a new tag.
    code, _, err = skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("reader"),
        stack.image.ref, f"docker://{stack.repo('team/base')}:reader-push", check=False,
    )  # fmt: skip
    assert code != 0
    assert refused(err), err
    base = f"docker://{stack.base}"
    # Anonymous access: no @anonymous rule, so nothing is granted.
    code, _, err = skopeo(stack, "inspect", "--tls-verify=false", "--no-creds", base, check=False)
    assert code != 0
    assert refused(err), err
    # A user with no rule at all.
    code, _, err = skopeo(
        stack, "inspect", "--tls-verify=false", "--creds", creds("nobody"), base, check=False
    )
    assert code != 0
    assert refused(err), err
    # A disabled user cannot log in.
    code, _, err = skopeo(
        stack, "inspect", "--tls-verify=false", "--creds", creds("carol"), base, check=False
    )
    assert code != 0
    assert "disabled" in err, err


# --- tokens against Distribution directly: rotation bundle, catalog ----------------------


def fetch_token(svc: Authsvc, user: str, scope: str) -> str:
    """GET a token from authsvc with Basic credentials."""
    query = urllib.parse.urlencode({"service": SERVICE, "scope": scope})
    req = urllib.request.Request(f"{svc.realm}?{query}")
    basic = base64.b64encode(creds(user).encode()).decode()
    req.add_header("Authorization", f"Basic {basic}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.load(resp)
    assert isinstance(body["expires_in"], int)
    token: str = body["token"]
    return token


def registry_get(stack: Stack, path: str, token: str) -> tuple[int, bytes]:
    """GET a registry path with a bearer token."""
    req = urllib.request.Request(f"{stack.registry.url}{path}")
    req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_catalog_and_rotation_bundle(stack: Stack) -> None:
    token = fetch_token(stack.authsvc, "admin", "registry:catalog:*")
    status, body = registry_get(stack, "/v2/_catalog", token)
    assert status == 200, body
    assert "team/base" in json.loads(body)["repositories"]
    # reader's catalog grant is filtered: the token carries the authsvc.catalog claim, which
    # Distribution ignores (it lists the whole catalog, and serves pulls with the same token),
    # while our registry lists only what reader may pull.
    skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("admin"),
        stack.image.ref, f"docker://{stack.repo('other/app')}:v1",
    )  # fmt: skip
    scopes = "registry:catalog:* repository:team/base:pull"
    token = fetch_token(stack.authsvc, "reader", scopes)
    assert CATALOG_CLAIM in jwt.decode(token, options={"verify_signature": False})
    status, body = registry_get(stack, "/v2/_catalog", token)
    assert status == 200, body
    listed = json.loads(body)["repositories"]
    assert "team/base" in listed
    assert ("other/app" in listed) == (stack.registry.label == "distribution")
    status, body = registry_get(stack, "/v2/team/base/tags/list", token)
    assert status == 200, body
    # alice has no catalog rule: the token is issued without that access, so Distribution refuses.
    status, _ = registry_get(stack, "/v2/_catalog", fetch_token(stack.authsvc, "alice", ""))
    assert status == 401
    # The next key (the other algorithm), whose certificate is first in the bundle, validates too.
    with serve_authsvc(stack.next_authsvc) as nxt:
        token = fetch_token(nxt, "reader", "repository:team/base:pull")
        status, body = registry_get(stack, "/v2/team/base/tags/list", token)
        assert status == 200, body
        assert json.loads(body)["tags"] == ["v1"]
