"""Helpers shared by the test suites: tool discovery, ports and subprocess readiness."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable

import pytest

from bench.procs import free_port

__all__ = ["free_port", "require_interop", "require_tool", "wait_for_port", "wait_until"]


def require_interop() -> bool:
    """True when CI demands that interop tools exist (a missing tool then fails, not skips)."""
    return os.environ.get("REQUIRE_INTEROP", "") not in ("", "0", "false")


def require_tool(name: str) -> str:
    """Return the path of an external tool, or skip (fail under REQUIRE_INTEROP=1)."""
    path = shutil.which(name)
    if path is None:
        # Also look in sbin directories, which are not always on PATH for non-root users.
        for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
            cand = os.path.join(d, name)
            if os.access(cand, os.X_OK):
                path = cand
                break
    if path is None:
        msg = f"{name} is not installed"
        if require_interop():
            pytest.fail(f"{msg}, and REQUIRE_INTEROP=1 forbids skipping")
        pytest.skip(msg)
    return path


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 20.0) -> None:
    """Block until something accepts TCP connections on host:port, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` every 0.1 s; fail the test naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
