"""Result rows: samples, medians, the ratio to Distribution, the target and the verdict.

The ratio is always "how many times better ours is": ours/Distribution for rates,
Distribution/ours for times. Verdicts are PASS, FAIL, n/a (nothing to compare) or ERROR.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any


class Goal(Enum):
    """How a row's target is judged."""

    RATIO_MIN = "ratio_min"  # ours must be at least `value` times better than Distribution
    AT_MOST = "at_most"  # ours' median must not exceed `value`
    AT_LEAST = "at_least"  # ours' median must reach `value`
    CHECK = "check"  # a yes/no check computed by the workload (`Row.check`)


@dataclass(frozen=True)
class Target:
    """A row's target and how it reads in the table."""

    goal: Goal
    value: float
    text: str


@dataclass
class Row:
    """One line of the table with every sample behind it."""

    workload: str
    label: str
    unit: str
    target: Target
    higher_is_better: bool = True
    ours: list[float] = field(default_factory=list)
    distribution: list[float] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    check: bool | None = None
    error: str | None = None
    note: str = ""
    # Peak-memory rows report the largest sample, every other row the median.
    peak: bool = False
    # What the second column holds: Distribution 2.8 (R rows) or the reference token server
    # (T1, T2: bench/refauth.py), for which the ratio is the fraction of it that ours reaches.
    peer: str = "Distribution"

    def _summary(self, samples: list[float]) -> float | None:
        if not samples:
            return None
        return max(samples) if self.peak else statistics.median(samples)

    @property
    def ours_median(self) -> float | None:
        """Median (or peak) of our samples."""
        return self._summary(self.ours)

    @property
    def distribution_median(self) -> float | None:
        """Median (or peak) of Distribution's samples."""
        return self._summary(self.distribution)

    @property
    def ratio(self) -> float | None:
        """How many times better ours is than Distribution (medians)."""
        ours, dist = self.ours_median, self.distribution_median
        if ours is None or dist is None or ours <= 0 or dist <= 0:
            return None
        return ours / dist if self.higher_is_better else dist / ours

    @property
    def verdict(self) -> str:
        """PASS, FAIL, n/a or ERROR."""
        if self.error is not None:
            return "ERROR"
        ours = self.ours_median
        goal = self.target.goal
        if goal is Goal.CHECK:
            return "n/a" if self.check is None else ("PASS" if self.check else "FAIL")
        if ours is None:
            return "n/a"
        if goal is Goal.RATIO_MIN:
            ratio = self.ratio
            return "n/a" if ratio is None else ("PASS" if ratio >= self.target.value else "FAIL")
        if goal is Goal.AT_MOST:
            return "PASS" if ours <= self.target.value else "FAIL"
        return "PASS" if ours >= self.target.value else "FAIL"

    def as_json(self) -> dict[str, Any]:
        """Everything about the row, for bench/results/*.json."""
        return {
            "workload": self.workload,
            "label": self.label,
            "unit": self.unit,
            "ours": self.ours_median,
            "distribution": self.distribution_median,
            "peer": self.peer,
            "ratio": self.ratio,
            "target": self.target.text,
            "verdict": self.verdict,
            "samples": {"ours": self.ours, "distribution": self.distribution},
            "details": self.details,
            "error": self.error,
            "note": self.note,
        }


def fmt_value(value: float | None, unit: str) -> str:
    """A number with its unit, at a precision that suits the unit."""
    if value is None:
        return "—"
    if unit in ("req/s", "tokens/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.1f} {unit}"


def peer_cell(row: Row) -> str:
    """The second column: Distribution's figure, or the reference's marked "(ref)"."""
    value = fmt_value(row.distribution_median, row.unit)
    if row.peer != "Distribution" and row.distribution_median is not None:
        value += " (ref)"
    return value


def render_table(rows: list[Row]) -> str:
    """The Markdown table the suite prints at the end."""
    header = ["workload", "ours", "Distribution (or ref)", "ratio", "target", "verdict"]
    body = []
    for row in rows:
        ours = fmt_value(row.ours_median, row.unit)
        if row.error:
            ours = "error"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        body.append(
            [
                row.label,
                ours,
                peer_cell(row),
                ratio,
                row.target.text,
                row.verdict,
            ]
        )
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    return "\n".join(out)


def render_notes(rows: list[Row]) -> str:
    """Errors and notes under the table, one line each."""
    lines = []
    for row in rows:
        if row.error:
            lines.append(f"- {row.label}: ERROR: {row.error}")
        elif row.note:
            lines.append(f"- {row.label}: {row.note}")
    return "\n".join(lines)


def write_json(path: Path, meta: dict[str, Any], rows: list[Row]) -> None:
    """Write the run's metadata and rows as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {**meta, "rows": [r.as_json() for r in rows]}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
