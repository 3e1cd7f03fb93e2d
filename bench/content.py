"""Blob contents for the byte-throughput workloads, streamed without holding them in memory.

A blob of any size is a 16 MiB block of random bytes repeated, with a per-blob nonce written
over its first bytes so that every measurement uploads a blob the registry has never seen (a
known digest could take a shortcut). The block is drawn once per process; digests are cached.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator

MiB = 1 << 20
BLOCK_SIZE = 16 * MiB
CHUNK_SIZE = 1 * MiB


class Content:
    """Deterministic (within this process) blob bytes: ``nonce`` over a repeated random block."""

    def __init__(self, block_size: int = BLOCK_SIZE) -> None:
        """Draw the random block."""
        self.block = os.urandom(block_size)
        self._view = memoryview(self.block)
        self._digests: dict[tuple[int, bytes], str] = {}

    def chunks(
        self, size: int, nonce: bytes, start: int = 0, end: int | None = None
    ) -> Iterator[bytes | memoryview]:
        """Yield bytes [start, end) of the blob in pieces of at most CHUNK_SIZE (zero-copy)."""
        stop = size if end is None else min(end, size)
        pos = start
        block = len(self.block)
        while pos < stop:
            offset = pos % block
            n = min(CHUNK_SIZE, stop - pos, block - offset)
            piece: bytes | memoryview = self._view[offset : offset + n]
            if pos < len(nonce):
                patched = bytearray(piece)
                k = min(len(nonce) - pos, n)
                patched[:k] = nonce[pos : pos + k]
                piece = bytes(patched)
            yield piece
            pos += n

    async def stream(
        self, size: int, nonce: bytes, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes | memoryview]:
        """The same pieces as an async iterator, for an aiohttp request body."""
        for piece in self.chunks(size, nonce, start, end):
            yield piece

    def digest(self, size: int, nonce: bytes) -> str:
        """``sha256:<hex>`` of the whole blob (computed once, outside any timing)."""
        key = (size, nonce)
        if key not in self._digests:
            hasher = hashlib.sha256()
            for piece in self.chunks(size, nonce):
                hasher.update(piece)
            self._digests[key] = f"sha256:{hasher.hexdigest()}"
        return self._digests[key]
