"""Give freed memory back to the system: glibc's allocator settings, and a periodic trim.

Why: under ``make soak`` the registry's RSS grew by half in ten minutes while the Python heap
(tracemalloc) grew by a few MiB. The rest was memory that glibc's malloc had been given back
but kept: calling ``malloc_trim(0)`` in the running process returned 44 of its 180 MiB.
Two glibc behaviours cause it (``man 3 mallopt``):

- The mmap threshold is dynamic. Freeing a large block that was mmap'ed raises the threshold
  to that block's size, so the next large buffers (request bodies, upload batches, blob reads)
  come from the heap and the arenas instead, where the freed space fragments and stays resident.
  Setting ``M_MMAP_THRESHOLD`` fixes it at its default and turns the adjustment off, so every
  block above 128 KiB is its own mapping and is unmapped when freed.
- Free memory inside the per-thread arenas (the storage thread pool, aiosqlite's thread, the
  password hashing threads) is returned only by ``malloc_trim``, which the service now calls
  every ``TRIM_INTERVAL`` seconds: it walks every arena, takes a few milliseconds, and releases
  whole free pages with ``madvise``.

Both do nothing where the C library is not glibc (musl, macOS).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import platform
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)

# mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's defaults; setting them explicitly is what turns the dynamic adjustment off.
MMAP_THRESHOLD = 128 * 1024
TRIM_THRESHOLD = 128 * 1024
TRIM_INTERVAL = 30.0


def _glibc() -> Any | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "mallopt") or not hasattr(libc, "malloc_trim"):
        return None
    return libc


_LIBC = _glibc()


def tune_allocator() -> bool:
    """Fix glibc's mmap and trim thresholds (call once, early); False where not glibc."""
    if _LIBC is None:
        return False
    ok = bool(_LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    ok = bool(_LIBC.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and ok
    return ok


def trim() -> bool:
    """Return free memory of every arena to the system now; True if some was released."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


def trimmer_ctx(
    interval: float = TRIM_INTERVAL,
) -> Callable[[Any], AsyncIterator[None]]:
    """A ``cleanup_ctx`` that tunes the allocator, then trims every ``interval`` seconds."""

    async def ctx(_app: Any) -> AsyncIterator[None]:
        if _LIBC is None:
            yield
            return
        tune_allocator()
        task = asyncio.create_task(_trim_forever(interval), name="svckit-malloc-trim")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


async def _trim_forever(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        trim()
