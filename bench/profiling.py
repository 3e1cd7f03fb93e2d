"""`--profile DIR`: record our servers with py-spy while a workload runs, and summarise.

py-spy writes collapsed stacks ("frame;frame;frame COUNT"); the summary lists the functions with
the most samples on top of the stack (self) and anywhere in it (inclusive), which is usually
enough to say what bounds a workload. Profiling slows the server, so a profiled run's figures are
not the ones to report.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.procs import stop


def py_spy() -> str | None:
    """The py-spy next to this interpreter (dev extra), or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


@contextmanager
def profiled(pid: int, out: Path, rate: int = 250) -> Iterator[None]:
    """Sample whichever thread of ``pid`` holds the GIL into ``out`` until the block ends."""
    binary = py_spy()
    if binary is None:
        yield
        return
    with (out.with_suffix(".log")).open("wb") as log:
        proc = subprocess.Popen(
            [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
             "--output", str(out), "--nonblocking", "--gil"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop(proc)
        if out.exists():
            out.with_suffix(".txt").write_text(summarize(out))


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)": lines split one function.
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1] if where else ""
    return f"{name} ({file})" if file else name


def summarize(path: Path, top: int = 25) -> str:
    """Top functions by self and by inclusive samples from a py-spy raw file."""
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        total += count
        if frames:
            self_counts[frames[-1]] += count
        for name in set(frames):
            incl_counts[name] += count
    lines = [f"{path.name}: {total} samples", "", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self_counts.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in incl_counts.most_common(top)]
    return "\n".join(lines) + "\n"
