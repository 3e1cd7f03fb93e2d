"""Test doubles shared by the registry tests: a clock the test sets by hand."""

from __future__ import annotations


class FakeClock:
    """A settable clock: call it for the time, assign ``now`` to move it (no sleeping)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
