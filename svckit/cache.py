"""The one cache type of both services: TTL + LRU, single-flight loading, explicit invalidation.

Every cache in authsvc and the registry is a ``Cache``: verified credentials, group lists, the
ACL rule list, refresh-token validations, verified bearer tokens, manifest lookups and facts
derived from manifest bytes. Caching is added as a decorator around a store or a service (as
distribution's ``cachedBlobStatter`` wraps a blob statter), never inside a handler.

Semantics:

- An entry lives for the cache's ``ttl`` (or a per-entry ``ttl``); ``ttl=None`` means until it
  is evicted or invalidated, ``ttl=0`` means nothing is kept (the cache then only merges
  concurrent loads, which is Go's ``singleflight``).
- The cache holds at most ``max_entries`` entries and, when ``weigh`` is given, at most
  ``max_weight`` in total; the least recently used entries go first.
- ``get_or_load`` shares one in-flight load between concurrent callers of the same key. The load
  runs as its own task, so a caller that is cancelled (a client hanging up) does not cancel it
  for the others. A failed load is not cached; every waiter sees its exception.
- ``invalidate``/``invalidate_where``/``clear`` also void loads in flight: their result still
  reaches the callers that were waiting, but is not stored, so a write that invalidates can never
  be undone by a read that started before it.

It is meant for one event loop (or plain single-threaded code): nothing here takes a lock.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Clock = Callable[[], float]


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    expires: float  # monotonic deadline; inf for no expiry
    weight: int


class Cache(Generic[K, V]):
    """A bounded TTL/LRU mapping with single-flight loads and invalidation."""

    def __init__(
        self,
        *,
        ttl: float | None,
        max_entries: int = 10_000,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """Keep entries ``ttl`` seconds (None: no expiry; 0: keep nothing), LRU-bounded."""
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if (max_weight is None) != (weigh is None):
            raise ValueError("max_weight and weigh go together")
        self._ttl = ttl
        self._max_entries = max_entries
        self._max_weight = max_weight
        self._weigh = weigh
        self._clock = clock
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._weight = 0
        self._flights: dict[K, asyncio.Future[V]] = {}
        # Bumped by every invalidation; a load that started under an older epoch is not stored.
        self._epoch = 0
        self._key_epochs: dict[K, int] = {}

    def __len__(self) -> int:
        """The number of entries held (expired ones included until they are looked up)."""
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """True if a live entry exists for ``key``."""
        return self._live(key) is not None  # type: ignore[arg-type]

    @property
    def weight(self) -> int:
        """The total weight of the entries held (0 without ``weigh``)."""
        return self._weight

    @property
    def in_flight(self) -> int:
        """The number of loads running now."""
        return len(self._flights)

    def get(self, key: K) -> V | None:
        """The live value for ``key`` (refreshing its LRU position), or None."""
        entry = self._live(key)
        return None if entry is None else entry.value

    def _live(self, key: K) -> _Entry[V] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: K, value: V, *, ttl: float | None = None) -> None:
        """Store ``value``; ``ttl`` overrides the cache's lifetime for this entry."""
        lifetime = self._ttl if ttl is None else ttl
        if lifetime is not None and lifetime <= 0:
            return
        weight = self._weigh(value) if self._weigh is not None else 0
        if self._max_weight is not None and weight > self._max_weight:
            return  # larger than the whole cache: keeping it would evict everything else
        self._drop(key)
        expires = float("inf") if lifetime is None else self._clock() + lifetime
        self._entries[key] = _Entry(value, expires, weight)
        self._weight += weight
        # Expired entries leave from the cold end as new ones arrive, so a cache of short-lived
        # entries (2 s manifest lookups) holds about what one lifetime brings in, not its bound.
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest].expires > now:
                break
            self._drop(oldest)
        while len(self._entries) > self._max_entries or (
            self._max_weight is not None and self._weight > self._max_weight
        ):
            self._drop(next(iter(self._entries)))

    def get_or_compute(self, key: K, compute: Callable[[], V], *, ttl: float | None = None) -> V:
        """The cached value, or ``compute()`` stored under ``key`` (synchronous memoisation)."""
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > self._clock():
                self._entries.move_to_end(key)
                return entry.value
            self._drop(key)
        value = compute()
        self.put(key, value, ttl=ttl)
        return value

    async def get_or_load(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        ttl: float | None = None,
        ttl_of: Callable[[V], float | None] | None = None,
    ) -> V:
        """The cached value, or the result of ``load()`` shared with concurrent callers.

        ``ttl_of`` picks a lifetime from the loaded value (a token cached until it expires).
        """
        # The lookup is inlined (no _live call): this runs several times per token request.
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > self._clock():
                self._entries.move_to_end(key)
                return entry.value
            self._drop(key)
        flight = self._flights.get(key)
        if flight is None:
            # The epochs are taken now, before the load task first runs, so an invalidation
            # that comes between this call and the load's first step still voids it.
            epochs = (self._epoch, self._key_epochs.get(key, 0))
            flight = asyncio.ensure_future(self._load(key, load, epochs, ttl, ttl_of))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    async def _load(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        epochs: tuple[int, int],
        ttl: float | None,
        ttl_of: Callable[[V], float | None] | None,
    ) -> V:
        value = await load()
        if epochs == (self._epoch, self._key_epochs.get(key, 0)):
            self.put(key, value, ttl=ttl_of(value) if ttl_of is not None else ttl)
        return value

    def _land(self, key: K, done: asyncio.Future[V]) -> None:
        if self._flights.get(key) is done:
            del self._flights[key]
            self._key_epochs.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: a failure nobody awaited is not "never retrieved"

    def invalidate(self, key: K) -> None:
        """Forget ``key`` and void any load of it in flight."""
        self._drop(key)
        if key in self._flights:
            self._key_epochs[key] = self._key_epochs.get(key, 0) + 1
        else:
            self._key_epochs.pop(key, None)

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        """Forget every key for which ``predicate`` holds, and void loads in flight."""
        for key in [k for k in self._entries if predicate(k)]:
            self._drop(key)
        if self._flights:
            self._epoch += 1

    def clear(self) -> None:
        """Forget everything and void loads in flight."""
        self._entries.clear()
        self._weight = 0
        self._epoch += 1

    def _drop(self, key: K) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._weight -= entry.weight


def memoized(
    max_entries: int,
) -> Callable[[Callable[[K], V]], Callable[[K], V]]:
    """Decorate a pure one-argument function with an LRU ``Cache`` (no expiry)."""

    def decorate(fn: Callable[[K], V]) -> Callable[[K], V]:
        cache: Cache[K, V] = Cache(ttl=None, max_entries=max_entries)
        entries = cache._entries

        def wrapper(arg: K) -> V:
            # A hit is one dict lookup: memoised entries never expire, so no clock is read.
            # This stands where functools.lru_cache (written in C) used to, on hot paths.
            entry = entries.get(arg)
            if entry is not None:
                entries.move_to_end(arg)
                return entry.value
            value = fn(arg)
            cache.put(arg, value)
            return value

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.cache = cache  # type: ignore[attr-defined]
        return wrapper

    return decorate
