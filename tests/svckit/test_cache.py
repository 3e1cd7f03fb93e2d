"""svckit.cache.Cache: TTL, LRU and weight bounds, single-flight loads, invalidation."""

from __future__ import annotations

import asyncio

import pytest

from svckit.cache import Cache, memoized


class FakeClock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl() -> None:
    clock = FakeClock()
    cache: Cache[str, int] = Cache(ttl=5, clock=clock)
    cache.put("a", 1)
    clock.now += 4.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_per_entry_ttl_overrides_and_none_means_forever() -> None:
    clock = FakeClock()
    cache: Cache[str, int] = Cache(ttl=None, clock=clock)
    cache.put("forever", 1)
    cache.put("short", 2, ttl=1)
    clock.now += 10**6
    assert cache.get("forever") == 1
    assert cache.get("short") is None


def test_zero_ttl_keeps_nothing() -> None:
    cache: Cache[str, int] = Cache(ttl=0)
    cache.put("a", 1)
    assert cache.get("a") is None
    assert len(cache) == 0


def test_least_recently_used_goes_first() -> None:
    cache: Cache[str, int] = Cache(ttl=None, max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_weight_bound_evicts_and_refuses_oversized_values() -> None:
    cache: Cache[str, bytes] = Cache(ttl=None, max_weight=10, weigh=len)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.weight == 10
    cache.put("c", b"1")
    assert cache.get("a") is None and cache.weight == 6
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None and cache.get("b") == b"12345"


def test_replacing_an_entry_keeps_the_weight_right() -> None:
    cache: Cache[str, bytes] = Cache(ttl=None, max_weight=100, weigh=len)
    cache.put("a", b"1234")
    cache.put("a", b"12")
    assert cache.weight == 2
    cache.invalidate("a")
    assert cache.weight == 0


def test_none_is_a_cacheable_value() -> None:
    calls = []
    cache: Cache[str, int | None] = Cache(ttl=None)

    def compute() -> int | None:
        calls.append(1)
        return None

    assert cache.get_or_compute("a", compute) is None
    assert cache.get_or_compute("a", compute) is None
    assert len(calls) == 1
    assert "a" in cache


def test_invalidate_where_drops_matching_keys() -> None:
    cache: Cache[tuple[str, str], int] = Cache(ttl=None)
    cache.put(("repo", "a"), 1)
    cache.put(("repo", "b"), 2)
    cache.put(("other", "a"), 3)
    cache.invalidate_where(lambda key: key[0] == "repo")
    assert cache.get(("repo", "a")) is None and cache.get(("repo", "b")) is None
    assert cache.get(("other", "a")) == 3


def test_constructor_checks_its_bounds() -> None:
    with pytest.raises(ValueError):
        Cache(ttl=1, max_entries=0)
    with pytest.raises(ValueError):
        Cache(ttl=1, max_weight=10)


def test_memoized_computes_once_per_argument() -> None:
    calls: list[int] = []

    @memoized(max_entries=2)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(2), square(2), square(3)] == [4, 4, 9]
    assert calls == [2, 3]
    assert square.__name__ == "square"


async def test_concurrent_loads_share_one_call() -> None:
    cache: Cache[str, int] = Cache(ttl=10)
    gate = asyncio.Event()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await gate.wait()
        return 42

    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(5)]
    await asyncio.sleep(0)
    assert cache.in_flight == 1
    gate.set()
    assert await asyncio.gather(*waiters) == [42] * 5
    assert calls == 1
    assert cache.in_flight == 0
    assert await cache.get_or_load("k", load) == 42  # now from the cache
    assert calls == 1


async def test_zero_ttl_is_single_flight_only() -> None:
    cache: Cache[str, int] = Cache(ttl=0)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return calls

    first = await asyncio.gather(cache.get_or_load("k", load), cache.get_or_load("k", load))
    assert first == [1, 1]
    assert await cache.get_or_load("k", load) == 2


async def test_failures_reach_every_waiter_and_are_not_cached() -> None:
    cache: Cache[str, int] = Cache(ttl=10)
    gate = asyncio.Event()
    attempts = 0

    async def failing() -> int:
        nonlocal attempts
        attempts += 1
        await gate.wait()
        raise RuntimeError("boom")

    waiters = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert attempts == 1
    assert cache.get("k") is None


async def test_a_cancelled_caller_does_not_cancel_the_load() -> None:
    cache: Cache[str, int] = Cache(ttl=10)
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 7

    impatient = asyncio.create_task(cache.get_or_load("k", load))
    patient = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    impatient.cancel()
    gate.set()
    assert await patient == 7
    assert cache.get("k") == 7


@pytest.mark.parametrize("how", ["key", "where", "clear"])
async def test_invalidation_voids_a_load_in_flight(how: str) -> None:
    cache: Cache[str, str] = Cache(ttl=10)
    gate = asyncio.Event()

    async def stale_read() -> str:
        await gate.wait()
        return "before the write"

    reader = asyncio.create_task(cache.get_or_load("k", stale_read))
    await asyncio.sleep(0)
    if how == "key":
        cache.invalidate("k")
    elif how == "where":
        cache.invalidate_where(lambda key: key == "k")
    else:
        cache.clear()
    gate.set()
    assert await reader == "before the write"  # the waiting caller still gets its answer
    assert cache.get("k") is None  # but the cache does not keep a read older than the write


async def test_ttl_of_picks_the_lifetime_from_the_value() -> None:
    clock = FakeClock()
    cache: Cache[str, float] = Cache(ttl=None, clock=clock)

    async def load() -> float:
        return 3.0

    await cache.get_or_load("k", load, ttl_of=lambda v: v)
    clock.now += 2.9
    assert cache.get("k") == 3.0
    clock.now += 0.2
    assert cache.get("k") is None


def test_expired_entries_leave_as_new_ones_arrive() -> None:
    """A TTL cache under a steady stream of new keys holds about one lifetime's worth of them,
    not its entry bound (found by `make soak`: the registry's RSS grew with every push)."""
    clock = FakeClock()
    cache: Cache[int, bytes] = Cache(ttl=2.0, max_entries=100_000, clock=clock)
    for key in range(10_000):
        cache.put(key, b"x")
        clock.now += 0.01  # 100 new keys a second, each kept 2 s
    assert len(cache) <= 201
    assert cache.get(9_999) == b"x"
