"""How long a client waits after failed logins: pure arithmetic, no I/O.

The first ``free`` consecutive failures cost nothing (people mistype); after that each failure
doubles the wait, from ``base`` seconds up to ``cap``. A success resets the count for that
account and address, so a real user who finally types the right password is not held back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """The settings of one counter: free attempts, first delay and the cap (seconds)."""

    free: int
    base: float
    cap: float

    @property
    def enabled(self) -> bool:
        """``free`` 0 turns throttling off."""
        return self.free > 0

    def delay(self, failures: int) -> float:
        """Seconds to refuse logins after ``failures`` consecutive failures."""
        if not self.enabled or failures <= self.free:
            return 0.0
        exponent = min(failures - self.free - 1, 62)
        return float(min(self.cap, self.base * (2**exponent)))
