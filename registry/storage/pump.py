"""Streaming an upload to disk: batch chunks, then hash and write each batch in threads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence

from registry.digest import Hasher
from registry.storage.driver import FileWriter
from registry.storage.errors import BlobTooLarge
from registry.storage.threads import Offloader


def _update_all(hasher: Hasher, parts: Sequence[bytes]) -> None:
    for part in parts:
        hasher.update(part)


class HashingPump:
    """Batches incoming chunks and hashes + writes each batch in threads, one batch in flight.

    While batch N is being hashed and written (both release the GIL), the event loop keeps
    receiving batch N+1, so network, hashing and disk overlap.
    """

    def __init__(
        self,
        writer: FileWriter,
        hasher: Hasher | None,
        offload: Offloader,
        *,
        limit: int | None,
        batch_size: int,
    ) -> None:
        self._writer = writer
        self._hasher = hasher
        self._offload = offload
        self._limit = limit
        self._batch_size = batch_size
        self._parts: list[bytes] = []
        self._buffered = 0
        self._total = writer.size
        self._pending: asyncio.Task[None] | None = None

    async def _process(self, parts: list[bytes]) -> None:
        jobs: list[Awaitable[object]] = [self._writer.write_many(parts)]
        if self._hasher is not None:
            jobs.append(self._offload(_update_all, self._hasher, parts))
        # Wait for both threads even if one fails: a write still running after we return
        # could land after the rollback's truncate.
        for result in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result

    async def _submit(self) -> None:
        parts, self._parts, self._buffered = self._parts, [], 0
        if self._pending is not None:
            pending, self._pending = self._pending, None
            # Shielded: cancelling the request must not cancel a batch whose threads run on.
            await asyncio.shield(pending)
        if parts:
            self._pending = asyncio.ensure_future(self._process(parts))

    async def feed(self, chunk: bytes) -> None:
        """Queue one chunk, flushing a batch when enough bytes are buffered."""
        if not chunk:
            return
        if self._limit is not None and self._total + len(chunk) > self._limit:
            raise BlobTooLarge(self._limit)
        self._total += len(chunk)
        self._parts.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= self._batch_size:
            await self._submit()

    async def finish(self) -> None:
        """Write what is buffered and wait for the batch in flight."""
        await self._submit()
        await self._submit()

    async def abort(self) -> None:
        """Wait for the batch in flight (its thread cannot be interrupted), ignoring its errors."""
        self._parts = []
        if self._pending is not None:
            pending, self._pending = self._pending, None
            with contextlib.suppress(BaseException):
                await pending
