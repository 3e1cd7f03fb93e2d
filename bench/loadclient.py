"""The suite's side of the load generator process: send a command, wait (bounded) for its reply."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.procs import BenchError, stop

REPO = Path(__file__).resolve().parent.parent


class LoadClient:
    """A `python -m bench.loadgen` child; restarted if a command times out or it dies."""

    def __init__(self, log: Path) -> None:
        """Remember where the child's stderr goes; the child starts on first use."""
        self.log = log
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        with self.log.open("a") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "bench.loadgen"],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )

    def call(self, op: str, timeout: float = 600.0, **args: Any) -> dict[str, Any]:
        """Run one command in the generator; raise BenchError on failure or after ``timeout``."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self.close()
                raise BenchError(f"load generator: {op} gave no answer in {timeout:.0f} s")
        line = proc.stdout.readline()
        if not line:
            self.close()
            tail = self.log.read_text(errors="replace")[-1500:]
            raise BenchError(f"load generator died during {op}:\n{tail}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise BenchError(f"load generator: {op}: {reply.get('error')}")
        result: dict[str, Any] = reply["result"]
        return result

    def close(self) -> None:
        """Close stdin (the child exits at EOF) and stop it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(proc)
