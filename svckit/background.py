"""Work that a request starts but does not wait for (bookkeeping writes), kept track of.

asyncio keeps only weak references to tasks, so a task nobody holds can vanish mid-way; this
holds them until they finish, logs a failure that escaped them, and lets shutdown and tests
wait for what is still running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    """A set of fire-and-forget tasks."""

    def __init__(self) -> None:
        """Start with nothing running."""
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` on the running loop without waiting for it."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until everything spawned so far has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
