"""Single flight: concurrent callers asking for the same key share one in-progress call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Deduplicates concurrent loads by key (Go's x/sync/singleflight, for asyncio).

    The load runs as its own task, so a caller that is cancelled (a client hanging up) does not
    cancel it for the others. Only calls that overlap in time are merged; nothing is cached
    after the load finishes.
    """

    def __init__(self) -> None:
        """Start with no load in flight."""
        self._flights: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        """The number of loads in flight."""
        return len(self._flights)

    async def do(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """Return the result of ``load()``, sharing a call already in flight for ``key``."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(load())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    def _land(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._flights.get(key) is done:
            del self._flights[key]
