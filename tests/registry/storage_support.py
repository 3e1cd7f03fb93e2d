"""Helpers for the store tests: chunked bodies, reading blobs back, pushing a blob."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from registry.digest import Digest
from registry.storage import Storage
from registry.storage.driver import PathNotFoundError
from registry.storage.paths import BlobDataPath, path_for


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """A request body arriving in parts, yielding to the loop between them."""
    for part in parts:
        await asyncio.sleep(0)
        yield part


def split(data: bytes, size: int) -> Iterable[bytes]:
    """data in pieces of at most size bytes."""
    return (data[i : i + size] for i in range(0, len(data), size))


async def blob_bytes(storage: Storage, name: str, digest: Digest) -> bytes:
    """A blob's bytes, reachable only through the repository's link (as a client gets them)."""
    await storage.blobs.stat(name, digest)
    return await storage.driver.get_content(path_for(BlobDataPath(digest)))


async def files_under(storage: Storage, path: str) -> list[str]:
    """Every file below a driver path ([] if there is none)."""
    try:
        return [e.path for e in await storage.driver.walk(path) if not e.is_dir]
    except PathNotFoundError:
        return []


async def push_blob(storage: Storage, name: str, data: bytes) -> Digest:
    """Upload data monolithically in 1000-byte parts and return its digest."""
    digest = Digest.of_bytes(data)
    info = await storage.uploads.put_monolithic(name, digest, chunks(*split(data, 1000)))
    assert (info.digest, info.size) == (digest, len(data))
    return digest
