"""BlobStore over every driver: the global content store and per-repository layer links."""

from __future__ import annotations

import os

import pytest

from registry.digest import Digest
from registry.storage import BlobUnknown, Storage
from registry.storage.paths import BlobDataPath, path_for
from tests.registry.storage_support import blob_bytes, push_blob


async def test_monolithic_upload_then_read(storage: Storage) -> None:
    data = os.urandom(10_000)
    digest = await push_blob(storage, "foo/bar", data)
    info = await storage.blobs.stat("foo/bar", digest)
    assert (info.digest, info.size) == (digest, len(data))
    assert await blob_bytes(storage, "foo/bar", digest) == data
    assert await storage.blobs.exists_global(digest) == info


async def test_data_path_serves_the_bytes(fs_storage: Storage) -> None:
    data = b"zero-copy"
    digest = await push_blob(fs_storage, "foo", data)
    assert fs_storage.blobs.data_path(digest).read_bytes() == data


async def test_empty_blob(storage: Storage) -> None:
    digest = await push_blob(storage, "foo", b"")
    assert (await storage.blobs.stat("foo", digest)).size == 0
    assert await blob_bytes(storage, "foo", digest) == b""


async def test_blob_is_scoped_to_its_repository(storage: Storage) -> None:
    digest = await push_blob(storage, "a", b"layer")
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("b", digest)
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("a", Digest.of_bytes(b"other"))


async def test_mount(storage: Storage) -> None:
    digest = await push_blob(storage, "src", b"shared layer")
    info = await storage.blobs.mount("src", "dst/repo", digest)
    assert info.size == len(b"shared layer")
    assert await storage.blobs.stat("dst/repo", digest) == info
    with pytest.raises(BlobUnknown):
        await storage.blobs.mount("nowhere", "dst/repo", Digest.of_bytes(b"x"))


async def test_delete_unlinks_but_keeps_data_for_gc(storage: Storage) -> None:
    digest = await push_blob(storage, "a", b"bytes")
    await storage.blobs.mount("a", "b", digest)
    await storage.blobs.delete("a", digest)
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("a", digest)
    assert await storage.blobs.stat("b", digest)
    assert await storage.blobs.exists_global(digest) is not None
    with pytest.raises(BlobUnknown):
        await storage.blobs.delete("a", digest)


async def test_link_without_data_is_unknown(storage: Storage) -> None:
    digest = await push_blob(storage, "a", b"bytes")
    await storage.driver.delete(path_for(BlobDataPath(digest)))
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("a", digest)
