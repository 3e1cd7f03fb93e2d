"""Child processes of the suite: start in their own session, stop by pid, sample their memory.

Every server runs in a new session, so a Ctrl-C typed at the terminal reaches only the suite,
which then stops its children itself (SIGTERM, then SIGKILL after a bound) from `finally` blocks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

STOP_TIMEOUT = 15.0
CMD_TIMEOUT = 300.0


class BenchError(RuntimeError):
    """The suite cannot go on: a service failed to start or a client command failed."""


def free_port() -> int:
    """Ask the kernel for an unused loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(
    args: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in a new session with its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process, SIGKILL it after ``timeout``, then kill what is left of its group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    # The process led its own group (start_new_session); its children share the group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float = CMD_TIMEOUT,
) -> str:
    """Run a command to completion within ``timeout``; return stdout or raise BenchError."""
    try:
        result = subprocess.run(
            list(args),
            env=dict(env) if env is not None else None,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{args[0]} {' '.join(args[1:3])}: no answer in {timeout:.0f} s") from None
    if result.returncode != 0:
        raise BenchError(
            f"{' '.join(args[:4])} exited {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-600:]}"
        )
    return result.stdout


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    *,
    ok: frozenset[int] = frozenset({200}),
    timeout: float = 30.0,
    context: ssl.SSLContext | None = None,
) -> None:
    """Poll ``url`` until it answers one of the ``ok`` statuses; fail early if ``proc`` died.

    An ``https`` URL is checked with ``context`` (the server's CA, and a client certificate if
    the server asks for one).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise BenchError(f"{proc.args!r} exited {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as resp:
                if resp.status in ok:
                    return
                last = resp.status
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return
            last = exc.code
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    raise BenchError(f"{url} not ready after {timeout:.0f} s (last: {last})")


def read_status_kib(pid: int, field: str) -> int | None:
    """One ``/proc/<pid>/status`` field in KiB (VmRSS, VmHWM), or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process (all its threads) has used, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            # Fields after the parenthesised command name; utime and stime are 14 and 15.
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak_rss(pid: int) -> bool:
    """Reset the kernel's VmHWM of ``pid`` (writing 5 to clear_refs, Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


class RssSampler:
    """Samples VmRSS of a process in a thread; `peak_mib` also folds in the kernel's VmHWM.

    VmHWM is exact but covers the process' whole life unless it can be reset, so the sampler
    resets it when it starts (if allowed) and reports the larger of the two views.
    """

    def __init__(self, pid: int, interval: float = 0.01, max_seconds: float = 3600.0) -> None:
        """Prepare to sample ``pid`` every ``interval`` seconds, for at most ``max_seconds``."""
        self.pid = pid
        self.interval = interval
        self.max_seconds = max_seconds
        self.samples_peak_kib = 0
        self.hwm_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"rss-{pid}", daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            rss = read_status_kib(self.pid, "VmRSS")
            if rss is None:
                return
            self.samples_peak_kib = max(self.samples_peak_kib, rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        """Reset the high-water mark and start sampling."""
        self.hwm_reset = reset_peak_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_mib(self) -> float:
        """The peak resident set size seen, in MiB."""
        peak = self.samples_peak_kib
        if self.hwm_reset:
            peak = max(peak, read_status_kib(self.pid, "VmHWM") or 0)
        return peak / 1024


def install_signal_handlers() -> None:
    """SIGTERM raises SystemExit and SIGINT KeyboardInterrupt, so `finally` blocks stop the
    servers (SIGINT is set explicitly: a shell's background job starts with it ignored)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
