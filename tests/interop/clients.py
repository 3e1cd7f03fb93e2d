"""What the real-client interop tests share: the stack they run against and client helpers."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.ociimage import OciImage
from bench.services import Registry
from tests.interop.authsvc_stack import Authsvc, run, short_tempdir
from tests.support import require_interop, require_tool

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


@contextmanager
def podman_runroot() -> Iterator[Path]:
    """podman's runroot must be shorter than 50 characters, so it cannot live in tmp_path."""
    require_root()
    require_tool("podman")
    runroot = short_tempdir("apr-")
    try:
        yield runroot
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def run_podman(
    base: Path, runroot: Path, *args: str, input: str | None = None, check: bool = True
) -> tuple[int, str]:
    """Root podman with vfs storage and every path (logins too) under ``base``."""
    binary = require_tool("podman")
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


def refused(output: str) -> bool:
    """True if a client's error output says the registry refused access (401/denied)."""
    text = output.lower()
    return "denied" in text or "unauthorized" in text


def creds(user: str) -> str:
    """``user:password`` for ``--creds``/``--user`` flags."""
    return f"{user}:{PASSWORDS[user]}"
