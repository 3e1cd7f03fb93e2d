"""authsvc tokens in front of both registries, driven by real clients.

For each registry (Debian's Distribution 2.8 and our ``registry serve``) and each key algorithm
(ES256, RS256): ``authsvc serve`` (real console script, temp SQLite migrated by
``authsvc db upgrade``, users and rules made with the CLI, keys from ``authsvc keys generate``)
and a registry whose ``rootcertbundle`` holds several certificates (rotation). Then skopeo,
``docker login`` (CLI only), dockerd, podman and ``ctr`` log in, push, pull and are denied
exactly where the ACL says. The same test bodies run against both registries, so any
difference between ours and Distribution shows up as a failure on one side only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.ociimage import build_image
from tests.interop.authsvc_stack import (
    SERVICE,
    Authsvc,
    OciImage,
    Registry,
    build_oci_image,
    prepare_authsvc,
    run,
    run_containerd,
    run_dockerd,
    serve_authsvc,
    serve_distribution,
    serve_ours,
    short_tempdir,
)
from tests.support import require_interop, require_tool

pytestmark = pytest.mark.interop

PASSWORDS = {
    "admin": "admin-Secret-1",
    "alice": "alice-Secret-2",
    "reader": "reader-Secret-3",
    "nobody": "nobody-Secret-4",
    "carol": "carol-Secret-5",
}


@dataclass
class Stack:
    """authsvc + one registry for one key algorithm, plus a pushed base image."""

    alg: str
    authsvc: Authsvc
    registry: Registry
    image: OciImage
    base: str  # ``HOST/team/base:v1``, pushed by admin with skopeo
    tmp: Path
    next_authsvc: Authsvc  # a second key pair whose certificate is also in the bundle

    def repo(self, path: str) -> str:
        """A full reference on this registry."""
        return f"{self.registry.host}/{path}"


def require_root() -> None:
    """dockerd, containerd and root podman need root; skip (fail under REQUIRE_INTEROP)."""
    if os.geteuid() != 0:
        if require_interop():
            pytest.fail("the interop daemons need root, and REQUIRE_INTEROP=1 forbids skipping")
        pytest.skip("the interop daemons need root")


def skopeo_env(tmp: Path) -> dict[str, str]:
    """An environment whose containers/image state lives under ``tmp``."""
    env = dict(os.environ)
    env.pop("REGISTRY_AUTH_FILE", None)
    env["TMPDIR"] = str(tmp)
    env["HOME"] = str(tmp)
    return env


def skopeo(stack: Stack, *args: str, check: bool = True) -> tuple[int, str, str]:
    """Run skopeo over plain HTTP with this stack's temp directories."""
    binary = require_tool("skopeo")
    result = run([binary, *args], env=skopeo_env(stack.tmp), check=check)
    return result.returncode, result.stdout, result.stderr


def refused(output: str) -> bool:
    """True if a client's error output says the registry refused access (401/denied)."""
    text = output.lower()
    return "denied" in text or "unauthorized" in text


def creds(user: str) -> str:
    """``user:password`` for ``--creds``/``--user`` flags."""
    return f"{user}:{PASSWORDS[user]}"


@pytest.fixture(
    scope="module",
    params=[
        ("ours", "ES256"),
        ("ours", "RS256"),
        ("distribution", "ES256"),
        ("distribution", "RS256"),
    ],
    ids=lambda p: "-".join(p),
)
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Start authsvc and one registry for one algorithm; seed users, rules and an image."""
    require_tool("skopeo")
    kind, alg = request.param
    binary = require_tool("docker-registry") if kind == "distribution" else ""
    tmp = tmp_path_factory.mktemp(f"interop-{kind}-{alg}")
    svc = prepare_authsvc(tmp / "authsvc", alg)
    svc.add_users(PASSWORDS)
    svc.add_rules(
        [
            ("admin", "*", "*", "repository"),
            ("admin", "catalog", "*", "registry"),
            ("alice", "team/*", "pull,push,delete", "repository"),
            ("carol", "team/*", "pull,push", "repository"),
            ("reader", "team/*", "pull", "repository"),
        ]
    )
    svc.cli("user", "disable", "carol")
    # A second signer (the next key of a rotation) shares the database; its certificate and an
    # unrelated one are in the bundle too, the active certificate last.
    other_alg = "RS256" if alg == "ES256" else "ES256"
    nxt = prepare_authsvc(tmp / "authsvc-next", other_alg, migrate=False)
    nxt.env["AUTHSVC_DATABASE_URL"] = svc.env["AUTHSVC_DATABASE_URL"]
    unrelated = prepare_authsvc(tmp / "unrelated", alg, migrate=False)
    bundle = tmp / "bundle.crt"
    bundle.write_bytes(nxt.cert.read_bytes() + unrelated.cert.read_bytes() + svc.cert.read_bytes())
    image = build_oci_image(tmp / "layout", text=f"hello from {alg}")
    registry = (
        serve_distribution(binary, tmp / "distribution", realm=svc.realm, bundle=bundle)
        if kind == "distribution"
        else serve_ours(tmp / "ours", realm=svc.realm, bundle=bundle)
    )
    with serve_authsvc(svc), registry as reg:
        stack = Stack(alg, svc, reg, image, f"{reg.host}/team/base:v1", tmp, nxt)
        skopeo(
            stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", creds("admin"),
            image.ref, f"docker://{stack.base}",
        )  # fmt: skip
        yield stack


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
    # alice has no catalog rule: the token is issued without that access, so Distribution refuses.
    status, _ = registry_get(stack, "/v2/_catalog", fetch_token(stack.authsvc, "alice", ""))
    assert status == 401
    # The next key (the other algorithm), whose certificate is first in the bundle, validates too.
    with serve_authsvc(stack.next_authsvc) as nxt:
        token = fetch_token(nxt, "reader", "repository:team/base:pull")
        status, body = registry_get(stack, "/v2/team/base/tags/list", token)
        assert status == 200, body
        assert json.loads(body)["tags"] == ["v1"]


# --- docker CLI (client-side login) and dockerd -----------------------------------------------


def docker_env(stack: Stack, name: str, host: str | None = None) -> dict[str, str]:
    """A docker CLI environment with a private config dir; no daemon unless ``host`` is given."""
    config = stack.tmp / f"docker-config-{name}"
    config.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["DOCKER_CONFIG"] = str(config)
    # With no reachable daemon the CLI logs in by itself (docker/cli loginClientSide).
    env["DOCKER_HOST"] = host or f"unix://{stack.tmp}/no-docker.sock"
    return env


def docker_login(stack: Stack, env: dict[str, str], user: str, password: str) -> tuple[int, str]:
    """``docker login --password-stdin``; returns (exit code, combined output)."""
    result = run(
        [require_tool("docker"), "login", "-u", user, "--password-stdin", stack.registry.host],
        env=env,
        input=password + "\n",
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_docker_login_stores_identity_token(stack: Stack) -> None:
    env = docker_env(stack, "login")
    code, out = docker_login(stack, env, "alice", PASSWORDS["alice"])
    assert code == 0, out
    config = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())
    entry = config["auths"][stack.registry.host]
    # The refresh token replaces the password: only user name and identity token are stored.
    assert entry.get("identitytoken")
    assert base64.b64decode(entry["auth"]).decode() == "alice:"
    tokens = json.loads(stack.authsvc.cli("token", "list", "--user", "alice", "--json").stdout)
    assert any(t["client_id"] == "docker" for t in tokens)

    code, out = docker_login(stack, docker_env(stack, "login-bad"), "alice", "wrong")
    assert code != 0
    assert "invalid username or password" in out, out


@pytest.fixture(scope="module")
def dockerd(stack: Stack) -> Iterator[str]:
    """A private dockerd that trusts this stack's plain-HTTP registry."""
    require_root()
    binary = require_tool("dockerd")
    require_tool("docker")
    with run_dockerd(binary, stack.registry.host, stack.tmp / "dockerd") as host:
        yield host


def test_dockerd_pull_push_with_identity_token(stack: Stack, dockerd: str) -> None:
    docker = require_tool("docker")
    env = docker_env(stack, "dockerd", host=dockerd)
    code, out = docker_login(stack, env, "alice", PASSWORDS["alice"])
    assert code == 0, out
    entry = json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text())["auths"]
    assert entry[stack.registry.host].get("identitytoken")
    posts_before = stack.authsvc.count_in_log('"POST /auth ')
    run([docker, "pull", "-q", stack.base], env=env)
    pushed = stack.repo("team/fromdocker:v1")
    run([docker, "tag", stack.base, pushed], env=env)
    run([docker, "push", "-q", pushed], env=env)
    # dockerd presents the identity token with the OAuth2 refresh_token grant (POST).
    assert stack.authsvc.count_in_log('"POST /auth ', more_than=posts_before) > posts_before
    _, out, _ = skopeo(
        stack, "inspect", "--tls-verify=false", "--creds", creds("reader"), f"docker://{pushed}"
    )
    assert json.loads(out)["Layers"] == list(stack.image.layer_digests)

    reader = docker_env(stack, "dockerd-reader", host=dockerd)
    code, out = docker_login(stack, reader, "reader", PASSWORDS["reader"])
    assert code == 0, out
    denied = stack.repo("team/fromdocker:reader")
    run([docker, "tag", stack.base, denied], env=reader)
    result = run([docker, "push", denied], env=reader, check=False)
    assert result.returncode != 0
    assert "denied" in result.stdout + result.stderr


# --- podman ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def podman_runroot(stack: Stack) -> Iterator[Path]:
    """podman's runroot must be shorter than 50 characters, so it cannot live in tmp_path."""
    require_root()
    require_tool("podman")
    runroot = short_tempdir("apr-")
    try:
        yield runroot
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def podman(
    stack: Stack, runroot: Path, *args: str, input: str | None = None, check: bool = True
) -> tuple[int, str]:
    """Root podman with vfs storage and every path in temporary directories."""
    binary = require_tool("podman")
    base = stack.tmp / "podman"
    base.mkdir(exist_ok=True)
    env = skopeo_env(base)
    env["REGISTRY_AUTH_FILE"] = str(base / "auth.json")
    result = run(
        [
            binary, "--root", str(base / "root"), "--runroot", str(runroot),
            "--storage-driver", "vfs", "--events-backend", "file",
            "--cgroup-manager", "cgroupfs", "--tmpdir", str(base / "tmp"), *args,
        ],
        env=env,
        input=input,
        check=check,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_podman_login_pull_push(stack: Stack, podman_runroot: Path) -> None:
    host, rr = stack.registry.host, podman_runroot
    login = ["login", "--tls-verify=false", "--password-stdin", "-u"]
    code, out = podman(stack, rr, *login, "alice", host, input="wrong\n", check=False)
    assert code != 0
    assert "invalid username" in out, out
    podman(stack, rr, *login, "alice", host, input=PASSWORDS["alice"] + "\n")
    podman(stack, rr, "pull", "-q", "--tls-verify=false", stack.base)
    pushed = stack.repo("team/frompodman:v1")
    podman(stack, rr, "tag", stack.base, pushed)
    podman(stack, rr, "push", "-q", "--tls-verify=false", pushed)
    _, out, _ = skopeo(
        stack, "inspect", "--tls-verify=false", "--creds", creds("reader"), f"docker://{pushed}"
    )
    assert json.loads(out)["Layers"] == list(stack.image.layer_digests)
    # The read-only user may pull but not push a new tag.
    podman(stack, rr, *login, "reader", host, input=PASSWORDS["reader"] + "\n")
    podman(stack, rr, "pull", "-q", "--tls-verify=false", pushed)
    code, out = podman(
        stack, rr, "push", "--tls-verify=false", pushed, stack.repo("team/frompodman:reader"),
        check=False,
    )  # fmt: skip
    assert code != 0
    assert refused(out), out


# --- containerd's ctr: the OAuth2 password grant ---------------------------------------------


@pytest.fixture(scope="module")
def containerd(stack: Stack) -> Iterator[str]:
    """A private containerd with temp root, state and socket."""
    require_root()
    binary = require_tool("containerd")
    require_tool("ctr")
    with run_containerd(binary, stack.tmp / "containerd") as sock:
        yield sock


def ctr(sock: str, *args: str, check: bool = True) -> tuple[int, str]:
    """``ctr`` against the private containerd, in a test namespace."""
    result = run(
        [require_tool("ctr"), "--address", sock, "--namespace", "interop", *args], check=check
    )
    return result.returncode, result.stdout + result.stderr


def test_ctr_password_grant(stack: Stack, containerd: str) -> None:
    posts_before = stack.authsvc.count_in_log('"POST /auth ')
    ctr(
        containerd, "images", "pull", "--plain-http", "--user", creds("alice"),
        "--snapshotter", "native", stack.base,
    )  # fmt: skip
    # containerd asks with POST grant_type=password first (docs/spec/auth/oauth.md).
    assert stack.authsvc.count_in_log('"POST /auth ', more_than=posts_before) > posts_before
    _, out = ctr(containerd, "images", "ls", "-q")
    assert stack.base in out.split()
    pushed = stack.repo("team/fromctr:v1")
    ctr(containerd, "images", "tag", stack.base, pushed)
    ctr(containerd, "images", "push", "--plain-http", "--user", creds("alice"), pushed)
    # A new tag (an existing identical one would be skipped as already present).
    denied = stack.repo("team/fromctr:reader")
    ctr(containerd, "images", "tag", stack.base, denied)
    code, out = ctr(
        containerd, "images", "push", "--plain-http", "--user", creds("reader"), denied,
        check=False,
    )  # fmt: skip
    assert code != 0
    code, out = ctr(
        containerd, "images", "pull", "--plain-http", "--user", "alice:wrong",
        "--snapshotter", "native", stack.base, check=False,
    )  # fmt: skip
    assert code != 0
    assert "401" in out or "unauthorized" in out.lower(), out
