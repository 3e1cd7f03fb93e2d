"""``python -m tests.fuzz [--seconds N]``: run every fuzz target for N seconds in all.

hypothesis drives the inputs (atheris is not packaged for this Python); each target gets an
equal share of the time, in rounds of fresh examples, and a failure prints the smallest input
hypothesis shrank it to and exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time

from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS


def run(seconds: float, *, examples_per_round: int = 2000) -> int:
    """Fuzz every target for its share of ``seconds``; return the number of examples run."""
    share = seconds / len(TARGETS)
    total = 0
    for name, (target, strategies) in TARGETS.items():
        deadline = time.monotonic() + share
        rounds = 0
        while time.monotonic() < deadline:
            fuzz = settings(
                max_examples=examples_per_round,
                deadline=None,
                database=None,
                derandomize=False,
                suppress_health_check=list(HealthCheck),
            )(given(*strategies)(target))
            fuzz()
            rounds += 1
            total += examples_per_round
        print(f"fuzz {name}: {rounds * examples_per_round} examples, no failure", flush=True)
    return total


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0, help="total time (default 300)")
    args = parser.parse_args(argv)
    try:
        total = run(args.seconds)
    except AssertionError as exc:
        print(f"fuzz: failure: {exc}", file=sys.stderr)
        return 1
    print(f"fuzz: {total} examples in {args.seconds:.0f} s, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
