"""authsvc tokens in front of both registries, driven by the container daemons' clients.

``docker login`` (CLI only: the identity token it stores), dockerd, root podman and
containerd's ``ctr`` (the OAuth2 password grant) log in, pull, push and are denied exactly where
the ACL says, against Distribution 2.8 and our registry alike.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.authsvc_stack import run, run_containerd, run_dockerd
from tests.interop.clients import (
    PASSWORDS,
    Stack,
    creds,
    podman_runroot,
    refused,
    require_root,
    run_podman,
    skopeo,
)
from tests.support import require_tool

pytestmark = pytest.mark.interop


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


@pytest.fixture(scope="module", name="podman_runroot")
def podman_runroot_fixture(stack: Stack) -> Iterator[Path]:
    """One podman runroot per stack."""
    with podman_runroot() as runroot:
        yield runroot


def podman(
    stack: Stack, runroot: Path, *args: str, input: str | None = None, check: bool = True
) -> tuple[int, str]:
    """Root podman with vfs storage and every path in this stack's temporary directory."""
    return run_podman(stack.tmp / "podman", runroot, *args, input=input, check=check)


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


def test_podman_with_a_robot_account(stack: Stack, podman_runroot: Path) -> None:
    """robot$NAME with its secret: what the ACL gives robots, capped by the robot's scopes."""
    name = f"podman{stack.alg.lower()}"
    stack.authsvc.cli(
        "acl", "add", "--account", "robot$*", "--name", "team/*", "--actions", "pull,push"
    )
    created = json.loads(
        stack.authsvc.cli(
            "robot", "add", name, "--scope", "repository:team/base:pull",
            "--scope", "repository:team/robot-*:pull,push", "--json",
        ).stdout
    )  # fmt: skip
    host, rr, user = stack.registry.host, podman_runroot, f"robot${name}"
    login = ["login", "--tls-verify=false", "--password-stdin", "-u", user, host]
    podman(stack, rr, *login, input=created["secret"] + "\n")
    podman(stack, rr, "pull", "-q", "--tls-verify=false", stack.base)
    allowed = stack.repo(f"team/robot-{name}:v1")
    podman(stack, rr, "tag", stack.base, allowed)
    podman(stack, rr, "push", "-q", "--tls-verify=false", allowed)
    # The ACL would let robots push to team/*, but this robot's scopes stop it there.
    denied = stack.repo(f"team/other-{name}:v1")
    podman(stack, rr, "tag", stack.base, denied)
    code, out = podman(stack, rr, "push", "--tls-verify=false", denied, check=False)
    assert code != 0
    assert refused(out), out
    # Disabled, the robot cannot log in again (replicas notice within a second).
    stack.authsvc.cli("robot", "disable", name)
    deadline = time.monotonic() + 5
    while podman(stack, rr, *login, input=created["secret"] + "\n", check=False)[0] == 0:
        assert time.monotonic() < deadline, "a disabled robot still logs in"


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


# --- no secret in any log ---------------------------------------------------------------------

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


def test_no_secret_reaches_any_log(stack: Stack) -> None:
    """Runs after the other client tests of this stack (pytest keeps file order per stack):
    authsvc and our registry log at DEBUG here (authsvc_stack), and neither log may hold a
    password, a Basic credential, an access token or a refresh token that was used."""
    url = f"http://127.0.0.1:{stack.authsvc.port}/auth"
    # A refresh token and an access token used right now, so both are known to this test.
    form = {
        "grant_type": "password", "username": "alice", "password": PASSWORDS["alice"],
        "service": "registry", "client_id": "log-check", "access_type": "offline",
        "scope": "repository:team/base:pull",
    }  # fmt: skip
    body = json.loads(post_form(url, form))
    refresh = body["refresh_token"]
    again = {"grant_type": "refresh_token", "refresh_token": refresh, "service": "registry",
             "client_id": "log-check", "scope": "repository:team/base:pull"}  # fmt: skip
    access = json.loads(post_form(url, again))["access_token"]
    secrets = {refresh, access, *PASSWORDS.values()}
    for user, password in PASSWORDS.items():
        secrets.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    # Identity tokens that docker login stored for the tests above.
    for config in stack.tmp.glob("docker-config-*/config.json"):
        for entry in json.loads(config.read_text()).get("auths", {}).values():
            if entry.get("identitytoken"):
                secrets.add(entry["identitytoken"])
    stack.authsvc.wait_for_log_marker()
    logs = {"authsvc": stack.authsvc.log_text()}
    if stack.registry.label == "ours":
        logs["registry"] = stack.registry.log.read_text(errors="replace")
    assert "DEBUG" in logs["authsvc"], "authsvc was expected to log at DEBUG here"
    for name, text in logs.items():
        leaked = sorted(s[:12] + "…" for s in secrets if s in text)
        assert not leaked, f"{name} log holds secrets starting {leaked}"
        assert not _JWT.search(text), f"{name} log holds a JWT"


def post_form(url: str, form: dict[str, str]) -> str:
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as resp:
        return str(resp.read().decode())


def test_skopeo_and_docker_login_with_a_pat(stack: Stack) -> None:
    """A personal access token as alice's password: every client, capped by its scopes."""
    made = stack.authsvc.cli(
        "pat", "create", "alice", "--name", f"ci-{stack.registry.host}",
        "--scope", "repository:team/pat-*:pull,push", "--scope", "repository:team/base:pull",
        "--json",
    )  # fmt: skip
    pat = json.loads(made.stdout)
    pat_creds = f"alice:{pat['secret']}"
    target = f"docker://{stack.repo('team/pat-app')}:v1"
    skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", pat_creds,
        stack.image.ref, target,
    )  # fmt: skip
    _, out, _ = skopeo(stack, "inspect", "--tls-verify=false", "--creds", pat_creds, target)
    assert json.loads(out)["Digest"] == stack.image.manifest_digest
    skopeo(stack, "inspect", "--tls-verify=false", "--creds", pat_creds, f"docker://{stack.base}")
    # alice's ACL allows push to team/* and delete: the token's scopes do not.
    code, _, err = skopeo(
        stack, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", pat_creds,
        stack.image.ref, f"docker://{stack.repo('team/app')}:pat", check=False,
    )  # fmt: skip
    assert code != 0 and refused(err), err
    code, _, err = skopeo(
        stack, "delete", "--tls-verify=false", "--creds", pat_creds, target, check=False
    )
    assert code != 0 and refused(err), err

    code, out = docker_login(stack, docker_env(stack, "pat"), "alice", pat["secret"])
    assert code == 0, out

    stack.authsvc.cli("pat", "revoke", str(pat["id"]))
    deadline = time.monotonic() + 5
    while True:  # revocation reaches every replica's cache within a second
        code, _, err = skopeo(
            stack, "inspect", "--tls-verify=false", "--creds", pat_creds, target, check=False
        )
        if code != 0:
            break
        assert time.monotonic() < deadline, "a revoked PAT still logs in"
        time.sleep(0.3)
    assert "invalid username" in err, err
    code, out = docker_login(stack, docker_env(stack, "pat-revoked"), "alice", pat["secret"])
    assert code != 0, out
