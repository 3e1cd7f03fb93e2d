"""Request-rate load with wrk (Debian's wrk 4.1): a generated Lua script per workload.

The script pre-formats every request once per thread (headers, form bodies) and rotates through
them; its `done` hook prints one JSON line that this module parses, so nothing depends on wrk's
human-readable report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import BenchError, run

MARK = "BENCH_JSON "


@dataclass(frozen=True)
class HttpRequest:
    """One request of a rotation: method, absolute URL, headers and an optional body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The loadgen's JSON form."""
        return {
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body": self.body,
        }


def wrk_binary() -> str | None:
    """The wrk executable, if installed."""
    return shutil.which("wrk")


def lua_string(value: str) -> str:
    """A double-quoted Lua string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def lua_script(base: str, requests: Sequence[HttpRequest]) -> str:
    """A wrk script that rotates through ``requests`` and reports JSON from `done`."""
    lines = ["local reqs = {}", "local i = 0", "init = function(args)"]
    for n, req in enumerate(requests, 1):
        if not req.url.startswith(base):
            raise ValueError(f"{req.url} is not under {base}")
        path = req.url[len(base) :] or "/"
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in req.headers.items())
        body = lua_string(req.body) if req.body is not None else "nil"
        lines.append(
            f"  reqs[{n}] = wrk.format({lua_string(req.method)}, {lua_string(path)}, "
            f"{{{headers}}}, {body})"
        )
    lines += [
        "end",
        "request = function()",
        "  i = i % #reqs + 1",
        "  return reqs[i]",
        "end",
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        "  io.write(string.format('" + MARK + '{"requests": %.0f, "duration_us": %.0f, '
        '"connect": %.0f, "read": %.0f, "write": %.0f, "status": %.0f, "timeout": %.0f, '
        '"p50_us": %.1f, "p99_us": %.1f, "max_us": %.1f}\\n\', '
        "summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, "
        "latency:percentile(50), latency:percentile(99), latency.max))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def run_wrk(
    base: str,
    requests: Sequence[HttpRequest],
    *,
    duration: float,
    connections: int,
    threads: int,
    workdir: Path,
) -> dict[str, Any]:
    """Run wrk for ``duration`` seconds; return requests, rps, errors and latency percentiles."""
    binary = wrk_binary()
    if binary is None:
        raise BenchError("wrk is not installed")
    script = workdir / "wrk-script.lua"
    script.write_text(lua_script(base, requests))
    seconds = max(1, round(duration))
    out = run(
        [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        timeout=seconds + 60,
    )
    for line in out.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            break
    else:
        raise BenchError(f"wrk printed no result:\n{out[-1000:]}")
    secs = data["duration_us"] / 1e6
    kinds = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "requests": int(data["requests"]),
        "seconds": secs,
        "rps": data["requests"] / secs if secs else 0.0,
        "errors": sum(kinds.values()),
        "error_kinds": {k: n for k, n in kinds.items() if n},
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
    }
