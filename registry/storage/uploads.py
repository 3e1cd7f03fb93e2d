"""Upload sessions in `_uploads/<id>` (Distribution's blobWriter): streamed, hashed, resumable."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from registry.digest import CANONICAL_ALGORITHM, Digest, Hasher, new_hasher
from registry.storage.blobs import BlobInfo, BlobStore
from registry.storage.catalog import repositories_with
from registry.storage.driver import FileWriter, PathNotFoundError, StorageDriver
from registry.storage.errors import (
    BlobUploadUnknown,
    DigestMismatch,
    InvalidOffset,
    SizeMismatch,
)
from registry.storage.links import delete_quietly
from registry.storage.paths import (
    BlobDataPath,
    UploadDataPath,
    UploadPath,
    UploadsPath,
    UploadStartedAtPath,
    basename,
    path_for,
    validate_upload_id,
)
from registry.storage.pump import HashingPump
from registry.storage.threads import Offloader
from svckit.cache import Cache

# Distribution writes startedat with Go's time.RFC3339 layout in UTC.
_STARTED_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_REHASH_CHUNK = 4 << 20


@dataclass(frozen=True, slots=True)
class UploadState:
    """Where an upload session stands: its repository, id, bytes received and start time."""

    name: str
    id: str
    offset: int
    started_at: datetime


@dataclass(slots=True)
class _HashState:
    """Canonical-algorithm hasher fed with exactly `offset` bytes of the upload's data file."""

    offset: int
    hasher: Hasher


def format_started_at(moment: datetime) -> str:
    """RFC 3339 UTC timestamp as Distribution writes it into startedat."""
    return moment.astimezone(UTC).strftime(_STARTED_AT_FORMAT)


def parse_started_at(raw: bytes) -> datetime | None:
    """Parse a startedat file (RFC 3339, any offset, optional fraction); None if unreadable."""
    try:
        moment = datetime.fromisoformat(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UploadStore:
    """Upload sessions; all state lives on disk so that an upload survives a restart.

    An in-memory cache keeps the running hasher per upload, keyed by its offset; after a
    restart (or with an algorithm other than sha256) commit re-hashes the data file instead.
    """

    def __init__(
        self,
        driver: StorageDriver,
        blobs: BlobStore,
        offload: Offloader,
        *,
        max_blob_size: int | None = None,
        batch_size: int = 4 << 20,
        cache_size: int = 1024,
    ) -> None:
        self._driver = driver
        self._blobs = blobs
        self._offload = offload
        self._max_blob_size = max_blob_size
        self._batch_size = batch_size
        # Running hashers are only a shortcut: a missing one is rebuilt by re-reading the file.
        self._hashes: Cache[tuple[str, str], _HashState] = Cache(ttl=None, max_entries=cache_size)
        # Serialises requests on one upload within this process; a lock lives while used.
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _lock(self, name: str, upload_id: str) -> asyncio.Lock:
        key = (name, upload_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _remember(self, name: str, upload_id: str, state: _HashState | None) -> None:
        if state is None:
            self._hashes.invalidate((name, upload_id))
        else:
            self._hashes.put((name, upload_id), state)

    @staticmethod
    def _check_id(upload_id: str) -> None:
        try:
            validate_upload_id(upload_id)
        except ValueError:
            raise BlobUploadUnknown(upload_id) from None

    async def create(self, name: str) -> UploadState:
        """Start an upload session: write startedat and an empty data file."""
        upload_id = str(uuid.uuid4())
        started = datetime.now(UTC).replace(microsecond=0)
        await self._driver.put_content(
            path_for(UploadStartedAtPath(name, upload_id)), format_started_at(started).encode()
        )
        writer = await self._driver.writer(path_for(UploadDataPath(name, upload_id)))
        await writer.close()
        self._remember(name, upload_id, _HashState(0, new_hasher(CANONICAL_ALGORITHM)))
        return UploadState(name, upload_id, 0, started)

    async def status(self, name: str, upload_id: str) -> UploadState:
        """Current offset and start time of an upload (BlobUploadUnknown if there is none)."""
        self._check_id(upload_id)
        try:
            raw = await self._driver.get_content(path_for(UploadStartedAtPath(name, upload_id)))
        except PathNotFoundError:
            # Distribution also treats an upload without startedat as unknown.
            raise BlobUploadUnknown(upload_id) from None
        started = parse_started_at(raw) or datetime.fromtimestamp(0, UTC)
        return UploadState(name, upload_id, await self._size(name, upload_id), started)

    async def _size(self, name: str, upload_id: str) -> int:
        """Bytes in the upload's data file, as a writer resuming it sees them.

        A local file's size is its stat. Elsewhere it is asked of a writer, as Distribution's
        blobWriter does: on S3 the bytes of an upload in progress are an open multipart upload,
        which only a writer finds (stat sees no object, or an older one).
        """
        path = path_for(UploadDataPath(name, upload_id))
        if self._driver.local_path(path) is not None:
            try:
                return (await self._driver.stat(path)).size
            except PathNotFoundError:
                return 0
        try:
            writer = await self._driver.writer(path, append=True)
        except PathNotFoundError:
            return 0
        try:
            return writer.size
        finally:
            await writer.close()

    async def _write(
        self,
        name: str,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes] | None,
        *,
        durable: bool = False,
    ) -> int:
        """Append chunks at offset, hashing them; undo the whole chunk on any failure."""
        # Taken out while the chunk is written: the hasher is fed as the data goes to disk.
        cached = self._hashes.get((name, upload_id))
        self._hashes.invalidate((name, upload_id))
        hasher = cached.hasher if cached is not None and cached.offset == offset else None
        backup = hasher.copy() if hasher is not None else None
        writer = await self._driver.writer(path_for(UploadDataPath(name, upload_id)), append=True)
        if writer.size != offset:
            await writer.close()
            raise InvalidOffset(writer.size, offset)
        pump = HashingPump(
            writer, hasher, self._offload, limit=self._max_blob_size, batch_size=self._batch_size
        )
        try:
            if chunks is not None:
                async for chunk in chunks:
                    await pump.feed(chunk)
            await pump.finish()
            if durable:
                await writer.commit()
        except BaseException:
            # A PATCH is all or nothing: cut the file back so that the client can resend the
            # chunk from the offset that a status request reports.  Shielded, so that a second
            # cancellation cannot leave the rollback half done.
            await asyncio.shield(self._rollback(pump, writer, offset))
            if backup is not None:
                self._remember(name, upload_id, _HashState(offset, backup))
            raise
        size = writer.size
        await writer.close()
        if hasher is not None:
            self._remember(name, upload_id, _HashState(size, hasher))
        return size

    @staticmethod
    async def _rollback(pump: HashingPump, writer: FileWriter, offset: int) -> None:
        try:
            await pump.abort()
            with contextlib.suppress(Exception):
                await writer.truncate(offset)
        finally:
            await writer.close()

    async def append(
        self,
        name: str,
        upload_id: str,
        chunks: AsyncIterator[bytes],
        *,
        start: int | None = None,
    ) -> UploadState:
        """Append a chunk; `start` (from Content-Range) must equal the current offset."""
        async with self._lock(name, upload_id):
            state = await self._status_at(name, upload_id, start)
            size = await self._write(name, upload_id, state.offset, chunks)
            return UploadState(name, upload_id, size, state.started_at)

    async def _status_at(self, name: str, upload_id: str, start: int | None) -> UploadState:
        """The upload's state; InvalidOffset unless a chunk's `start` is where the upload is."""
        state = await self.status(name, upload_id)
        if start is not None and start != state.offset:
            raise InvalidOffset(state.offset, start)
        return state

    async def _digest_of(self, name: str, upload_id: str, size: int, algorithm: str) -> Digest:
        """Digest of the data file: from the cached hasher, else re-read from disk."""
        cached = self._hashes.get((name, upload_id))
        if cached is not None and cached.offset == size and algorithm == CANONICAL_ALGORITHM:
            return Digest.from_hasher(algorithm, cached.hasher.copy())
        hasher = new_hasher(algorithm)
        try:
            reader = await self._driver.reader(path_for(UploadDataPath(name, upload_id)))
        except PathNotFoundError:
            return Digest.from_hasher(algorithm, hasher)
        try:
            while chunk := await reader.read(_REHASH_CHUNK):
                await self._offload(hasher.update, chunk)
        finally:
            await reader.close()
        return Digest.from_hasher(algorithm, hasher)

    async def commit(
        self,
        name: str,
        upload_id: str,
        digest: Digest,
        chunks: AsyncIterator[bytes] | None = None,
        *,
        start: int | None = None,
        size: int | None = None,
    ) -> BlobInfo:
        """Append final chunks (at `start`, if given), verify digest and size, publish and link.

        On DigestMismatch or SizeMismatch the upload is removed, as Distribution does
        (blobUploadHandler cancels the upload when Commit fails); on InvalidOffset it is kept.
        """
        async with self._lock(name, upload_id):
            state = await self._status_at(name, upload_id, start)
            total = await self._write(name, upload_id, state.offset, chunks, durable=True)
            if size is not None and size != total:
                await self._remove(name, upload_id)
                raise SizeMismatch(size, total)
            actual = await self._digest_of(name, upload_id, total, digest.algorithm)
            if actual != digest:
                await self._remove(name, upload_id)
                raise DigestMismatch(digest, actual)
            await self._publish(name, upload_id, digest)
            return BlobInfo(digest, total)

    async def _publish(self, name: str, upload_id: str, digest: Digest) -> None:
        """Rename the data file into the blob store (unless present), link it, drop the session."""
        if await self._blobs.exists_global(digest) is None:
            # The data file was fsynced; a rename is atomic, so a reader of blobs/ sees either
            # nothing or the whole blob.  Two commits of one digest both succeed: the second
            # rename replaces identical bytes.
            target = path_for(BlobDataPath(digest))
            try:
                await self._driver.move(path_for(UploadDataPath(name, upload_id)), target)
            except PathNotFoundError:
                # No data file at all: the digest was verified against empty content.
                await self._driver.put_content(target, b"")
        await self._blobs.link(name, digest)
        await self._remove(name, upload_id)

    async def _remove(self, name: str, upload_id: str) -> None:
        self._remember(name, upload_id, None)
        await delete_quietly(self._driver, path_for(UploadPath(name, upload_id)))

    async def put_monolithic(
        self,
        name: str,
        digest: Digest,
        chunks: AsyncIterator[bytes],
        *,
        size: int | None = None,
    ) -> BlobInfo:
        """Single-request upload (POST ?digest=): a session that is created and committed."""
        state = await self.create(name)
        try:
            return await self.commit(name, state.id, digest, chunks, size=size)
        except BaseException:
            await self._remove(name, state.id)
            raise

    async def cancel(self, name: str, upload_id: str) -> None:
        """Abort an upload and remove its files (BlobUploadUnknown if there is none)."""
        async with self._lock(name, upload_id):
            await self.status(name, upload_id)
            await self._remove(name, upload_id)

    async def purge(self, older_than_seconds: float, *, dry_run: bool = False) -> list[str]:
        """Remove uploads started longer ago than the threshold; return "name:id" of each.

        An upload with an unreadable startedat is aged by its directory's modification time.
        """
        cutoff = time.time() - older_than_seconds
        purged: list[str] = []
        for name in await repositories_with(self._driver, UploadsPath):
            try:
                entries = await self._driver.list(path_for(UploadsPath(name)))
            except PathNotFoundError:
                continue
            for entry in entries:
                upload_id = basename(entry)
                try:
                    validate_upload_id(upload_id)
                except ValueError:
                    continue
                lock = self._lock(name, upload_id)
                if lock.locked():
                    continue  # a request is writing to it right now
                async with lock:
                    if await self._started(name, upload_id, entry) < cutoff:
                        purged.append(f"{name}:{upload_id}")
                        if not dry_run:
                            await self._remove(name, upload_id)
        return purged

    async def _started(self, name: str, upload_id: str, directory: str) -> float:
        try:
            raw = await self._driver.get_content(path_for(UploadStartedAtPath(name, upload_id)))
        except PathNotFoundError:
            raw = b""
        started = parse_started_at(raw)
        if started is not None:
            return started.timestamp()
        try:
            return (await self._driver.stat(directory)).mod_time
        except PathNotFoundError:
            return time.time()
