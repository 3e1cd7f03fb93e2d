"""svckit.memory: freed memory goes back to the system (glibc), and the trim task stops cleanly."""

from __future__ import annotations

import asyncio
import platform
from pathlib import Path

import pytest
from aiohttp import web

from svckit import memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@glibc_only
def test_trim_returns_free_memory_that_free_alone_keeps() -> None:
    # 60 MiB in 3,000-byte blocks (malloc'ed, below the mmap threshold), every 64th kept: the
    # kept ones pin the heap's top, so free() alone cannot shrink it and the pages in between
    # stay resident until malloc_trim releases them.
    blocks = [bytes(3000) + i.to_bytes(4, "little") for i in range(20_000)]
    kept = blocks[::64]
    del blocks
    before = rss_kib()
    assert memory.trim()
    after = rss_kib()
    assert before - after > 20 * 1024, (before, after)
    assert len(kept) == 313


async def test_the_trimmer_runs_with_the_app_and_stops_with_it() -> None:
    app = web.Application()
    app.cleanup_ctx.append(memory.trimmer_ctx(interval=0.01))
    runner = web.AppRunner(app)
    await runner.setup()
    tasks = {t.get_name() for t in asyncio.all_tasks()}
    assert ("svckit-malloc-trim" in tasks) == (platform.libc_ver()[0] == "glibc")
    await asyncio.sleep(0.05)
    await runner.cleanup()
    assert "svckit-malloc-trim" not in {t.get_name() for t in asyncio.all_tasks()}
