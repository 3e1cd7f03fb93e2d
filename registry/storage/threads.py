"""A small thread pool wrapper: blocking file I/O and hashing run off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Offloader:
    """Runs blocking callables in a private ThreadPoolExecutor; `shutdown` releases it."""

    def __init__(self, max_workers: int = 8, *, name: str = "registry-storage") -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    async def __call__(self, fn: Callable[..., T], *args: object) -> T:
        """Run fn(*args) in the pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def shutdown(self) -> None:
        """Stop accepting work; running jobs finish, queued ones are dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)
