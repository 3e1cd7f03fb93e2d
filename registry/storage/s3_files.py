"""Files in an S3 bucket: reading one object, and writing one as a resumable multipart upload.

``S3Writer`` is the s3 driver's file writer (``registry.storage.s3`` explains the layout and why
a writer rebases); it is apart from the driver because it is the part with state: the open
upload, the parts in flight, and a buffer of less than a part.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from registry.storage.driver import BytesLike, InvalidOffsetError, PathNotFoundError
from registry.storage.s3_settings import MIN_CHUNK_SIZE, S3Settings


class Bucket(Protocol):
    """What a writer needs of its driver: the settings and the shared client."""

    settings: S3Settings

    async def client(self) -> Any:
        """The driver's S3 client."""
        ...


# Parts of one writer uploaded at once: the request keeps streaming while parts travel.
PART_UPLOADS_IN_FLIGHT = 4
MAX_PART_COPY = 5 << 30  # S3's largest UploadPartCopy range
NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchUpload"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_not_found(exc: ClientError) -> bool:
    return error_code(exc) in NOT_FOUND


@contextlib.contextmanager
def translate_errors(path: str) -> Iterator[None]:
    """Turn S3's "no such key/upload" into PathNotFoundError for the driver path."""
    try:
        yield
    except ClientError as exc:
        if is_not_found(exc):
            raise PathNotFoundError(path) from exc
        raise


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    size: int


class S3Reader:
    """Sequential reader over a GetObject body."""

    def __init__(self, body: Any) -> None:
        self._body = body

    async def read(self, n: int) -> bytes:
        """Up to n bytes; b"" at the end."""
        if self._body is None:
            return b""
        data: bytes = await self._body.read(n)
        return data

    async def close(self) -> None:
        """Release the connection."""
        if self._body is not None:
            body, self._body = self._body, None
            body.close()


class S3Writer:
    """A file being written: one open multipart upload plus a buffer of less than a part.

    ``_pending`` marks content that cannot be appended to as it stands: the file is the first
    ``_pending`` bytes of its *current bytes* (the parts uploaded, or the completed object when
    no upload is open), and the next write, close or commit rebases it first.
    """

    def __init__(
        self,
        driver: Bucket,
        path: str,
        key: str,
        upload_id: str | None,
        parts: list[Part],
        *,
        completed: int | None = None,
    ) -> None:
        self._driver = driver
        self._path = path
        self._key = key
        self._upload_id = upload_id
        self._parts = parts
        self._uploaded = sum(p.size for p in parts)
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._inflight: list[asyncio.Task[Part]] = []
        self._done = False
        self._pending: int | None = None
        self._current = 0
        # A part upload failed: parts past the good prefix may sit in the open upload, where a
        # resuming writer would count them, so the upload is rebuilt before it is left.
        self._stray = False
        if completed is not None:
            self._pending = self._current = self._uploaded = completed
        elif parts and parts[-1].size < MIN_CHUNK_SIZE:
            self._pending = self._current = self._uploaded

    @property
    def size(self) -> int:
        """Bytes written so far, uploaded or buffered."""
        return self._uploaded + self._buffered

    async def write(self, data: BytesLike) -> int:
        """Append data."""
        return await self.write_many([data])

    async def write_many(self, parts: Sequence[BytesLike]) -> int:
        """Buffer the data and start a part upload once a part's worth is buffered."""
        if self._pending is not None:
            await self._rebase(self._pending)
        total = 0
        for part in parts:
            if len(part):
                self._buffer.append(bytes(part))
                self._buffered += len(part)
                total += len(part)
        if self._buffered >= self._driver.settings.chunksize:
            await self._start_part()
        return total

    async def _start_part(self) -> None:
        """Upload the buffer as the next part, keeping a bounded number of uploads in flight."""
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        number = len(self._parts) + len(self._inflight) + 1
        self._uploaded += len(data)
        self._inflight.append(asyncio.ensure_future(self._upload_part(number, data)))
        if len(self._inflight) >= PART_UPLOADS_IN_FLIGHT:
            oldest = self._inflight[0]
            await asyncio.wait([oldest])
            if oldest.exception() is not None:
                await self._drain()  # raises, leaving the file at its good prefix
            self._parts.append(self._inflight.pop(0).result())

    async def _upload_part(self, number: int, data: bytes) -> Part:
        client = await self._driver.client()
        resp = await client.upload_part(
            Bucket=self._driver.settings.bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        return Part(number, str(resp["ETag"]), len(data))

    async def _drain(self) -> None:
        """Wait for every part upload; the first failure is raised after all have ended.

        After a failure the file is cut back to the parts before the first failed one (the
        caller rolls the chunk back anyway) and marked for a rebase.
        """
        tasks, self._inflight = self._inflight, []
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        for result in results:
            if isinstance(result, BaseException):
                break
            self._parts.append(result)
        if failure is not None:
            self._buffer, self._buffered = [], 0
            self._uploaded = sum(p.size for p in self._parts)
            self._pending = self._current = self._uploaded
            self._stray = True
            raise failure

    async def _flush(self) -> None:
        """Upload the buffer (a part of any size: it is the last one for now)."""
        await self._drain()
        if self._buffered:
            await self._start_part()
            await self._drain()

    async def _finish_upload(self) -> None:
        """Complete the open upload with its parts (abort it if it has none)."""
        if self._upload_id is None:
            return
        client = await self._driver.client()
        bucket = self._driver.settings.bucket
        upload_id, self._upload_id = self._upload_id, None
        if not self._parts:
            # S3 cannot complete an upload without parts.
            await client.abort_multipart_upload(Bucket=bucket, Key=self._key, UploadId=upload_id)
            return
        await client.complete_multipart_upload(
            Bucket=bucket,
            Key=self._key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in self._parts]
            },
        )

    async def _rebase(self, length: int) -> None:
        """Start a new upload holding the first `length` bytes of the current bytes."""
        await self._drain()
        had_parts = bool(self._parts)
        await self._finish_upload()
        client = await self._driver.client()
        bucket = self._driver.settings.bucket
        resp = await client.create_multipart_upload(Bucket=bucket, Key=self._key)
        self._upload_id = str(resp["UploadId"])
        self._parts, self._uploaded = [], 0
        self._buffer, self._buffered = [], 0
        self._pending = None
        self._stray = False
        if not had_parts and self._current == 0:
            return
        if length >= MIN_CHUNK_SIZE:
            # Equal ranges of at most 5 GiB: none is under 5 MiB, since more parts follow.
            count = -(-length // MAX_PART_COPY)
            step = -(-length // count)
            for start in range(0, length, step):
                end = min(start + step, length)
                number = len(self._parts) + 1
                copied = await client.upload_part_copy(
                    Bucket=bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": bucket, "Key": self._key},
                    CopySourceRange=f"bytes={start}-{end - 1}",
                )
                etag = str(copied["CopyPartResult"]["ETag"])
                self._parts.append(Part(number, etag, end - start))
            self._uploaded = length
        elif length:
            # Under one part: read it back into the buffer (less than 5 MiB). Until the buffer
            # goes out as a part, a writer opened elsewhere sees the new upload's 0 bytes: the
            # upload reports a smaller offset for that moment, as Distribution's does, and a
            # client resuming from it writes consistent data.
            got = await client.get_object(
                Bucket=bucket, Key=self._key, Range=f"bytes=0-{length - 1}"
            )
            async with got["Body"] as body:
                data: bytes = await body.read()
            self._buffer, self._buffered = [data], len(data)

    async def truncate(self, size: int) -> None:
        """Shrink to size: drop buffered bytes, or mark uploaded parts for a rebase."""
        if size < 0 or size > self.size:
            raise InvalidOffsetError(self._path, size)
        await self._drain()
        if self._pending is None and size >= self._uploaded:
            data = b"".join(self._buffer)[: size - self._uploaded]
            self._buffer, self._buffered = ([data] if data else []), len(data)
            return
        # Parts past `size` cannot be removed from an open upload: it is rebuilt without them.
        if self._pending is None:
            self._current = self._uploaded
        self._buffer, self._buffered = [], 0
        self._pending = self._uploaded = size

    async def _settle(self) -> None:
        """Rebase if the file was cut short; an untouched pending state stays as it is."""
        await self._drain()
        if self._pending is not None and (self._pending < self._current or self._stray):
            await self._rebase(self._pending)

    async def close(self) -> None:
        """Store the buffer as a part and leave the upload open for a later append."""
        if self._done:
            return
        self._done = True
        await self._settle()
        await self._flush()

    async def cancel(self) -> None:
        """Abort the upload and remove any object at the key."""
        self._done = True
        with contextlib.suppress(Exception):
            await self._drain()
        client = await self._driver.client()
        bucket = self._driver.settings.bucket
        if self._upload_id is not None:
            with contextlib.suppress(ClientError):
                await client.abort_multipart_upload(
                    Bucket=bucket, Key=self._key, UploadId=self._upload_id
                )
        await client.delete_object(Bucket=bucket, Key=self._key)

    async def commit(self) -> None:
        """Upload the rest and complete the upload: the object appears whole, at once."""
        await self._settle()
        await self._flush()
        empty = not self._parts and (self._pending is None or self._current == 0)
        await self._finish_upload()
        if empty:
            # Nothing at all was written (S3 cannot complete an upload without parts).
            client = await self._driver.client()
            await client.put_object(Bucket=self._driver.settings.bucket, Key=self._key, Body=b"")
        self._pending = None
        self._done = True
