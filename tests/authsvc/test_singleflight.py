"""SingleFlight: overlapping loads are shared, later ones are not, cancellation is isolated."""

from __future__ import annotations

import asyncio

import pytest

from authsvc.singleflight import SingleFlight


class Loader:
    """Counts loads; each waits for ``release`` so that callers overlap."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def load(self) -> int:
        self.calls += 1
        await self.release.wait()
        return self.calls


async def test_overlapping_calls_share_one_load() -> None:
    flight: SingleFlight[int] = SingleFlight()
    loader = Loader()
    waiters = [asyncio.ensure_future(flight.do("k", loader.load)) for _ in range(5)]
    await asyncio.sleep(0)
    assert len(flight) == 1
    loader.release.set()
    assert await asyncio.gather(*waiters) == [1] * 5
    assert loader.calls == 1
    assert len(flight) == 0


async def test_later_calls_load_again_and_keys_are_separate() -> None:
    flight: SingleFlight[int] = SingleFlight()
    loader = Loader()
    loader.release.set()
    assert await flight.do("k", loader.load) == 1
    assert await flight.do("k", loader.load) == 2
    assert await flight.do("other", loader.load) == 3


async def test_a_cancelled_caller_does_not_cancel_the_load() -> None:
    flight: SingleFlight[int] = SingleFlight()
    loader = Loader()
    first = asyncio.ensure_future(flight.do("k", loader.load))
    second = asyncio.ensure_future(flight.do("k", loader.load))
    await asyncio.sleep(0)
    first.cancel()
    loader.release.set()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_errors_reach_every_caller() -> None:
    flight: SingleFlight[int] = SingleFlight()
    gate = asyncio.Event()

    async def fail() -> int:
        await gate.wait()
        raise RuntimeError("database down")

    waiters = [asyncio.ensure_future(flight.do("k", fail)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(flight) == 0
