"""The suite's settings and the shared state every workload receives."""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.content import MiB
from bench.loadclient import LoadClient
from bench.procs import BenchError, cpu_seconds
from bench.results import Row, Target
from bench.services import Authsvc, Keys, Registry, bearer
from bench.wrk import HttpRequest, run_wrk

GiB = 1 << 30


@dataclass(frozen=True)
class Settings:
    """How long and how big each measurement is; `quick` runs every workload once, small."""

    quick: bool
    reps: int
    warmup: bool
    duration: float
    connections: int
    sizes: tuple[int, ...]
    r4_count: int
    r4_size: int
    r5_size: int
    r6_layers: int
    r6_layer_size: int
    t4_duration: float
    t4_fresh_per_rep: int
    t4_in_flight: int = 16
    use_wrk: bool = True

    @classmethod
    def full(cls, *, use_wrk: bool, reps: int = 5) -> Settings:
        """The full run's sizes: 10 s loads, 256 MiB and 1 GiB blobs, 5 repetitions."""
        return cls(
            quick=False,
            reps=max(5, reps),
            warmup=True,
            duration=10.0,
            connections=32,
            sizes=(256 * MiB, GiB),
            r4_count=20,
            r4_size=16 * MiB,
            r5_size=GiB,
            r6_layers=4,
            r6_layer_size=64 * MiB,
            t4_duration=5.0,
            t4_fresh_per_rep=4,
            use_wrk=use_wrk,
        )

    @classmethod
    def quick_run(cls, *, use_wrk: bool) -> Settings:
        """Every workload once, briefly, with small sizes (so the suite cannot rot)."""
        return cls(
            quick=True,
            reps=1,
            warmup=False,
            duration=1.0,
            connections=8,
            sizes=(8 * MiB,),
            r4_count=20,
            r4_size=1 * MiB,
            r5_size=32 * MiB,
            r6_layers=4,
            r6_layer_size=1 * MiB,
            t4_duration=1.0,
            t4_fresh_per_rep=2,
            use_wrk=use_wrk,
        )

    def as_json(self) -> dict[str, Any]:
        """The settings as written into the results file."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Bench:
    """Servers, clients and rows shared by the workloads."""

    settings: Settings
    workdir: Path
    keys: Keys
    auth: Authsvc
    auth_pg: Authsvc | None
    pg_note: str
    ours: Registry
    distribution: Registry | None
    # The reference token server T1 and T2 are measured against (None unless they run).
    ref: Authsvc | None
    load: LoadClient
    user: str
    password: str
    t3_user: tuple[str, str]
    t4_users: list[tuple[str, str]]
    skopeo: str | None
    curl: str | None
    rows: list[Row] = field(default_factory=list)

    def row(self, workload: str, label: str, unit: str, target: Target, **kw: Any) -> Row:
        """Create a row and register it in table order."""
        row = Row(workload, label, unit, target, **kw)
        self.rows.append(row)
        return row

    def registries(self) -> list[Registry]:
        """Ours, then Distribution when it is installed."""
        return [self.ours] + ([self.distribution] if self.distribution else [])

    def alternate(self, rep: int) -> list[Registry]:
        """The registries in the order of this repetition: who goes first alternates."""
        regs = self.registries()
        return regs if rep % 2 == 0 else regs[::-1]

    def reps(self) -> Iterator[int]:
        """-1 for the warm-up (when enabled), then 0..reps-1; only reps >= 0 are recorded."""
        if self.settings.warmup:
            yield -1
        yield from range(self.settings.reps)

    def bearer(self, repo: str, actions: str = "pull,push") -> str:
        """A fresh access token (GET /auth with Basic) for one repository."""
        return bearer(self.auth, self.user, self.password, [f"repository:{repo}:{actions}"])

    def request_rate(
        self, base: str, requests: list[HttpRequest], duration: float, server_pid: int
    ) -> dict[str, Any]:
        """Requests per second: wrk when enabled, else the aiohttp generator (closed loop).

        The result also says how busy the server was: CPU seconds per second of load (1.0 is
        one core) and CPU milliseconds per request, which tell a CPU-bound server from one
        that waits on something.
        """
        cpu0 = cpu_seconds(server_pid)
        if self.settings.use_wrk:
            result = run_wrk(
                base,
                requests,
                duration=duration,
                connections=self.settings.connections,
                threads=1,
                workdir=self.workdir,
            )
        else:
            result = self.load.call(
                "reqloop",
                timeout=duration + 60,
                requests=[r.as_dict() for r in requests],
                concurrency=self.settings.connections,
                duration=duration,
                max_requests=2_000_000,
            )
        cpu1 = cpu_seconds(server_pid)
        if cpu0 is not None and cpu1 is not None and result["requests"]:
            result["server_cpu_cores"] = (cpu1 - cpu0) / result["seconds"]
            result["server_cpu_ms_per_request"] = (cpu1 - cpu0) * 1000 / result["requests"]
        return result

    @staticmethod
    def nonce() -> str:
        """Fresh hex bytes that make a blob's content (and digest) new."""
        return secrets.token_hex(8)


def record(row: Row, reg: Registry, value: float) -> None:
    """Add a sample to the ours or Distribution column of ``row``."""
    (row.ours if reg.label == "ours" else row.distribution).append(value)


def add_load_details(row: Row, result: dict[str, Any], suffix: str = "") -> None:
    """Keep a request-rate run's latency and server CPU figures in the row's details."""
    for key in ("p99_ms", "server_cpu_cores", "server_cpu_ms_per_request"):
        if result.get(key) is not None:
            row.details.setdefault(key + suffix, []).append(round(result[key], 3))


def load_note(row: Row, suffix: str = "") -> str:
    """ "server CPU 0.97 cores, 1.02 ms/request, p99 12.0 ms" from the medians of the details."""
    d = row.details

    def med(key: str) -> float | None:
        values = d.get(key + suffix)
        return statistics.median(values) if values else None

    cores, per_req, p99 = (
        med(k) for k in ("server_cpu_cores", "server_cpu_ms_per_request", "p99_ms")
    )
    parts = []
    if cores is not None and per_req is not None:
        parts.append(f"server CPU {cores:.2f} cores, {per_req:.2f} ms/request")
    if p99 is not None:
        parts.append(f"p99 {p99:.1f} ms")
    return ", ".join(parts)


def require_no_errors(result: dict[str, Any], what: str) -> None:
    """A rate measured over failing requests means nothing: refuse it."""
    if result.get("errors"):
        kinds = result.get("error_kinds") or {}
        raise BenchError(
            f"{what}: {result['errors']} errors in {result['requests']} requests "
            f"{kinds or ''}".rstrip()
        )
