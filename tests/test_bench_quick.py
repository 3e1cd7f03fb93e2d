"""`python -m bench --quick` (what `make bench QUICK=1` runs) completes and prints every row.

This keeps the benchmark suite from rotting: it starts the real services (authsvc on SQLite and,
when PostgreSQL is configured, on PostgreSQL; our registry; Distribution), runs every workload
once with small sizes and checks the table and the JSON file. No figure is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import require_tool

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = (
    "T1", "T2", "T3", "T4", "T5", "T1W", "TA", "R1", "R2", "R3", "R3b", "R4", "R5", "R6",
)  # fmt: skip
VERDICTS = {"PASS", "FAIL", "n/a"}


def test_quick_bench_prints_every_workload(tmp_path: Path) -> None:
    require_tool("docker-registry")
    require_tool("skopeo")
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHSVC_", "REGISTRY_"))}
    if pg := os.environ.get("AUTHSVC_TEST_POSTGRES_URL"):
        env["AUTHSVC_TEST_POSTGRES_URL"] = pg
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(results)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"

    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert table[0].split("|")[1].strip() == "workload"
    printed = {line.split("|")[1].strip().split()[0] for line in table[1:]}
    assert printed >= set(WORKLOADS)

    doc = json.loads(results.read_text())
    assert doc["mode"] == "quick"
    rows = doc["rows"]
    assert {r["workload"] for r in rows} >= set(WORKLOADS)
    for row in rows:
        assert row["error"] is None, row
        assert row["verdict"] in VERDICTS, row
    # Every row that has a peer was measured on both sides; the rest at least on ours.
    measured = [r for r in rows if r["ours"] is not None]
    assert {r["workload"] for r in measured} >= set(WORKLOADS)
    for row in rows:
        if row["target"].startswith(">=") and row["target"].endswith("x"):
            assert row["distribution"] is not None and row["ratio"] is not None, row
    # T1 and T2 are measured beside the reference token server, in the same run.
    for row in rows:
        if row["workload"] in ("T1", "T2") and row["ours"] is not None:
            assert row["peer"] == "reference" and row["ratio"] is not None, row
    pg_rows = [r for r in rows if r["workload"] == "T1" and r["label"].endswith("PostgreSQL")]
    assert len(pg_rows) == 1
    # T1W compares one process with two workers on the same database (PostgreSQL when present).
    assert [r["label"].split(",")[1].strip() for r in rows if r["workload"] == "T1W"] == [
        "1 process",
        "2 workers",
    ]
    if pg:
        assert pg_rows[0]["ours"] is not None, pg_rows[0]


def test_s3_bench_prints_every_row() -> None:
    """`python -m bench.s3` with tiny blobs: moto, both client libraries, three registries."""
    pytest.importorskip("moto.server")
    pytest.importorskip("obstore")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REGISTRY_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.s3", "--size-mib", "6", "--part-mib", "5", "--reps", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for row in ("aiobotocore (raw)", "obstore (raw)", "registry, filesystem", "registry, s3"):
        assert row in proc.stdout
