"""UploadStore over every driver: streamed, hashed, resumable upload sessions and purging."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from registry.digest import Digest
from registry.storage import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadUnknown,
    DigestMismatch,
    InvalidOffset,
    SizeMismatch,
    Storage,
)
from registry.storage.paths import (
    BlobsRootPath,
    RepositoryPath,
    UploadPath,
    UploadStartedAtPath,
    path_for,
)
from tests.registry.storage_support import blob_bytes, chunks, files_under, split


async def test_chunked_upload(storage: Storage) -> None:
    data = os.urandom(300_000)
    state = await storage.uploads.create("foo")
    assert state.offset == 0
    assert state.id and state.name == "foo"
    state = await storage.uploads.append("foo", state.id, chunks(data[:100_000]), start=0)
    assert state.offset == 100_000
    state = await storage.uploads.append("foo", state.id, chunks(*split(data[100_000:250_000], 7)))
    assert (await storage.uploads.status("foo", state.id)).offset == 250_000
    info = await storage.uploads.commit(
        "foo", state.id, Digest.of_bytes(data), chunks(data[250_000:]), size=len(data)
    )
    assert info.size == len(data)
    assert await blob_bytes(storage, "foo", info.digest) == data
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("foo", state.id)


async def test_startedat_is_rfc3339_utc(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    raw = await storage.driver.get_content(path_for(UploadStartedAtPath("foo", state.id)))
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", raw)
    assert (await storage.uploads.status("foo", state.id)).started_at == state.started_at


async def test_offset_mismatch_leaves_upload_unchanged(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"12345"))
    with pytest.raises(InvalidOffset) as info:
        await storage.uploads.append("foo", state.id, chunks(b"678"), start=0)
    assert (info.value.expected, info.value.got) == (5, 0)
    with pytest.raises(InvalidOffset):
        await storage.uploads.append("foo", state.id, chunks(b"678"), start=6)
    assert (await storage.uploads.status("foo", state.id)).offset == 5
    await storage.uploads.append("foo", state.id, chunks(b"678"), start=5)
    info2 = await storage.uploads.commit("foo", state.id, Digest.of_bytes(b"12345678"))
    assert info2.size == 8


async def test_commit_checks_the_start_offset(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"abc"))
    digest = Digest.of_bytes(b"abcdef")
    with pytest.raises(InvalidOffset) as info:
        await storage.uploads.commit("foo", state.id, digest, chunks(b"def"), start=4)
    assert (info.value.expected, info.value.got) == (3, 4)
    assert (await storage.uploads.status("foo", state.id)).offset == 3
    blob = await storage.uploads.commit("foo", state.id, digest, chunks(b"def"), start=3)
    assert blob.size == 6


async def test_digest_mismatch_removes_upload(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    wrong = Digest.of_bytes(b"something else")
    with pytest.raises(DigestMismatch) as info:
        await storage.uploads.commit("foo", state.id, wrong, chunks(b"payload"))
    assert info.value.expected == wrong
    assert info.value.actual == Digest.of_bytes(b"payload")
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("foo", state.id)
    assert await storage.blobs.exists_global(wrong) is None
    assert await storage.blobs.exists_global(Digest.of_bytes(b"payload")) is None


async def test_size_mismatch(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    with pytest.raises(SizeMismatch) as info:
        await storage.uploads.commit(
            "foo", state.id, Digest.of_bytes(b"abc"), chunks(b"abc"), size=4
        )
    assert (info.value.expected, info.value.actual) == (4, 3)
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("foo", Digest.of_bytes(b"abc"))


async def test_monolithic_mismatch_leaves_nothing(storage: Storage) -> None:
    with pytest.raises(DigestMismatch):
        await storage.uploads.put_monolithic("foo", Digest.of_bytes(b"x"), chunks(b"y"))
    assert await files_under(storage, path_for(RepositoryPath("foo"))) == []
    assert await files_under(storage, path_for(BlobsRootPath())) == []


async def test_max_blob_size(tmp_path: Path) -> None:
    storage = Storage(tmp_path, max_blob_size=10)
    try:
        state = await storage.uploads.create("foo")
        await storage.uploads.append("foo", state.id, chunks(b"123456"))
        with pytest.raises(BlobTooLarge) as info:
            await storage.uploads.append("foo", state.id, chunks(b"78", b"9ab"))
        assert info.value.limit == 10
        assert (await storage.uploads.status("foo", state.id)).offset == 6
        await storage.uploads.append("foo", state.id, chunks(b"7890"))
        blob = await storage.uploads.commit("foo", state.id, Digest.of_bytes(b"1234567890"))
        assert blob.size == 10
        with pytest.raises(BlobTooLarge):
            await storage.uploads.put_monolithic(
                "foo", Digest.of_bytes(b"x" * 11), chunks(b"x" * 11)
            )
    finally:
        await storage.aclose()


async def test_failed_chunk_is_rolled_back(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"good"))

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial data that must disappear"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.uploads.append("foo", state.id, broken())
    assert (await storage.uploads.status("foo", state.id)).offset == 4
    info = await storage.uploads.commit("foo", state.id, Digest.of_bytes(b"good!"), chunks(b"!"))
    assert await blob_bytes(storage, "foo", info.digest) == b"good!"


async def test_resume_after_restart(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    first = Storage(tmp_path)
    state = await first.uploads.create("foo/bar")
    await first.uploads.append("foo/bar", state.id, chunks(data[:120_000]))
    await first.aclose()

    # A new Storage object has no in-memory hasher: it must re-hash the data file from disk.
    second = Storage(tmp_path)
    try:
        resumed = await second.uploads.status("foo/bar", state.id)
        assert resumed.offset == 120_000
        assert resumed.started_at == state.started_at
        await second.uploads.append(
            "foo/bar", state.id, chunks(data[120_000:150_000]), start=120_000
        )
        info = await second.uploads.commit(
            "foo/bar", state.id, Digest.of_bytes(data), chunks(data[150_000:])
        )
        assert await blob_bytes(second, "foo/bar", info.digest) == data
    finally:
        await second.aclose()


async def test_resume_with_a_wrong_digest_is_still_detected(tmp_path: Path) -> None:
    first = Storage(tmp_path)
    state = await first.uploads.create("foo")
    await first.uploads.append("foo", state.id, chunks(b"abc"))
    await first.aclose()
    second = Storage(tmp_path)
    try:
        with pytest.raises(DigestMismatch):
            await second.uploads.commit("foo", state.id, Digest.of_bytes(b"abcd"))
    finally:
        await second.aclose()


async def test_sha512_digest(storage: Storage) -> None:
    data = b"sha512 content"
    digest = Digest.of_bytes(data, "sha512")
    info = await storage.uploads.put_monolithic("foo", digest, chunks(data))
    assert info.digest == digest
    assert await blob_bytes(storage, "foo", digest) == data


async def test_concurrent_uploads_of_same_digest_both_succeed(storage: Storage) -> None:
    data = os.urandom(1_000_000)
    digest = Digest.of_bytes(data)
    results = await asyncio.gather(
        *(
            storage.uploads.put_monolithic(f"repo{i}", digest, chunks(*split(data, 65536)))
            for i in range(4)
        )
    )
    assert all(r.digest == digest and r.size == len(data) for r in results)
    for i in range(4):
        assert await blob_bytes(storage, f"repo{i}", digest) == data


async def test_concurrent_appends_to_one_upload_serialise(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    a, b = b"A" * 100_000, b"B" * 50_000
    await asyncio.gather(
        storage.uploads.append("foo", state.id, chunks(*split(a, 1000))),
        storage.uploads.append("foo", state.id, chunks(*split(b, 1000))),
    )
    assert (await storage.uploads.status("foo", state.id)).offset == 150_000
    # Committing the data file makes it readable on every driver (S3: completes the upload).
    data_path = path_for(UploadPath("foo", state.id)) + "/data"
    writer = await storage.driver.writer(data_path, append=True)
    await writer.commit()
    await writer.close()
    content = await storage.driver.get_content(data_path)
    assert content in (a + b, b + a)
    info = await storage.uploads.commit("foo", state.id, Digest.of_bytes(content))
    assert info.size == 150_000


async def test_cancel(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"data"))
    await storage.uploads.cancel("foo", state.id)
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("foo", state.id)
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.cancel("foo", state.id)


@pytest.mark.parametrize("upload_id", ["..", "../..", "a/b", "", "0" * 200, "not-there"])
async def test_unknown_upload_ids(storage: Storage, upload_id: str) -> None:
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("foo", upload_id)
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.append("foo", upload_id, chunks(b"x"))
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.commit("foo", upload_id, Digest.of_bytes(b"x"))


async def test_upload_in_other_repository_is_unknown(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("bar", state.id)


async def test_purge(storage: Storage) -> None:
    old = await storage.uploads.create("a/b")
    await storage.uploads.append("a/b", old.id, chunks(b"stale"))
    fresh = await storage.uploads.create("c")
    await storage.driver.put_content(
        path_for(UploadStartedAtPath("a/b", old.id)), b"2001-02-03T04:05:06Z"
    )
    assert await storage.uploads.purge(3600, dry_run=True) == [f"a/b:{old.id}"]
    assert (await storage.uploads.status("a/b", old.id)).offset == 5
    assert await storage.uploads.purge(3600) == [f"a/b:{old.id}"]
    with pytest.raises(BlobUploadUnknown):
        await storage.uploads.status("a/b", old.id)
    assert (await storage.uploads.status("c", fresh.id)).offset == 0
    assert await storage.uploads.purge(3600) == []


async def test_purge_reads_distribution_timestamps(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    # Go's RFC 3339 output may carry a zone offset or fractional seconds.
    await storage.driver.put_content(
        path_for(UploadStartedAtPath("foo", state.id)), b"2020-01-01T10:00:00.123456789+02:00"
    )
    assert await storage.uploads.purge(60) == [f"foo:{state.id}"]


async def test_cancelled_append_is_rolled_back(storage: Storage) -> None:
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"kept"))
    started = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield os.urandom(5 << 20)  # more than one batch: a write is in flight
        started.set()
        await asyncio.Event().wait()
        yield b""

    task = asyncio.create_task(storage.uploads.append("foo", state.id, stalls()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await storage.uploads.status("foo", state.id)).offset == 4
    info = await storage.uploads.commit("foo", state.id, Digest.of_bytes(b"kept"))
    assert info.size == 4


CRASHING_WRITER = """
import asyncio, os, sys
from pathlib import Path
from registry.storage import Storage
from registry.storage.paths import UploadDataPath, path_for

async def main():
    root = Path(sys.argv[1])
    storage = Storage(root)
    state = await storage.uploads.create("crash/test")
    data = root / path_for(UploadDataPath("crash/test", state.id)).lstrip("/")
    print(state.id, flush=True)

    async def forever():
        announced = False
        while True:
            yield os.urandom(1 << 20)
            await asyncio.sleep(0)
            if not announced and data.stat().st_size >= 8 << 20:
                print("written", flush=True)  # several batches are on disk: kill me now
                announced = True

    await storage.uploads.append("crash/test", state.id, forever())

asyncio.run(main())
"""


async def test_kill_during_upload_leaves_nothing_visible(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_WRITER, str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    try:
        # The writer reports its upload, then that 8 MiB reached the file; the timeouts are
        # deadlines for a stuck child, not guesses at how long writing takes.
        upload_id = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"written\n"
    finally:
        proc.kill()
        await proc.wait()
    data_file = tmp_path / path_for(UploadPath("crash/test", upload_id)).lstrip("/") / "data"
    assert data_file.stat().st_size >= 8 << 20

    storage = Storage(tmp_path)
    try:
        # No blob appeared, and the upload resumes from whatever reached the disk.
        assert await files_under(storage, path_for(BlobsRootPath())) == []
        state = await storage.uploads.status("crash/test", upload_id)
        assert state.offset == data_file.stat().st_size
        await storage.uploads.append("crash/test", upload_id, chunks(b"tail"), start=state.offset)
        content = data_file.read_bytes()
        info = await storage.uploads.commit("crash/test", upload_id, Digest.of_bytes(content))
        assert info.size == state.offset + 4
        assert await storage.repositories() == []
        assert (await storage.blobs.stat("crash/test", info.digest)).size == info.size
    finally:
        await storage.aclose()
