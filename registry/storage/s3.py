"""A StorageDriver on an S3-compatible bucket, laid out like Distribution's s3-aws driver.

Distribution's driver (registry/storage/driver/s3-aws/s3.go) is the layout reference, so both
registries can share a bucket:

- the key of a driver path is ``rootdirectory`` + the path, without the leading ``/``;
- a directory is a key prefix: it exists while some object lies below it;
- a file being written is an open multipart upload on the file's own key, found again by
  ListMultipartUploads and ListParts, so that an upload resumes in another process. Its bytes
  are visible (GetObject, List) only once the writer commits (CompleteMultipartUpload).

S3 parts other than the last must be at least 5 MiB. A writer that is closed mid-upload
(a PATCH that ends) stores what it buffered as a last, possibly smaller, part; the next writer
that appends to it first *rebases*: it completes the upload, starts a new one and copies the
object back in as the first part (UploadPartCopy, or a read into the buffer when it is under
5 MiB). Distribution's writer does the same (its "sadface" path); rolling back a failed chunk
(truncate) is the same operation to a shorter length.

The client is aiobotocore (see bench/README.md, "S3 client"): it has every multipart verb,
including the listing and copying that resuming needs, and presigned URLs.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from registry.storage.driver import (
    FileInfo,
    InvalidOffsetError,
    PathNotFoundError,
    check_path,
)
from registry.storage.s3_files import (
    Part,
    S3Reader,
    S3Writer,
    error_code,
    is_not_found,
    translate_errors,
)
from registry.storage.s3_settings import MIN_CHUNK_SIZE, S3Settings

__all__ = ["MIN_CHUNK_SIZE", "S3Driver", "S3Reader", "S3Settings", "S3Writer"]

# Distribution's s3 URLFor default expiry.
PRESIGN_SECONDS = 20 * 60
_DELETE_BATCH = 1000  # DeleteObjects' limit
_OPEN_ATTEMPTS = 5


class S3Driver:
    """Distribution-compatible S3 driver (the s3-aws layout) over aiobotocore."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._root = settings.rootdirectory.strip("/")
        self._client: Any = None
        self._exit: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Any:
        """The aiobotocore client, created on first use (its session needs a running loop)."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    s = self.settings
                    endpoint = s.regionendpoint
                    if endpoint is not None and "://" not in endpoint:
                        endpoint = f"{'https' if s.secure else 'http'}://{endpoint}"
                    config = AioConfig(
                        s3={"addressing_style": "path" if s.path_style else "auto"},
                        signature_version="s3v4",
                        max_pool_connections=64,
                        # Keep S3's behaviour under newer botocore defaults: checksums only
                        # where an operation requires them (moto and other S3s differ).
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    )
                    stack = contextlib.AsyncExitStack()
                    self._client = await stack.enter_async_context(
                        get_session().create_client(
                            "s3",
                            region_name=s.region,
                            endpoint_url=endpoint,
                            use_ssl=s.secure,
                            aws_access_key_id=s.accesskey,
                            aws_secret_access_key=s.secretkey,
                            config=config,
                        )
                    )
                    self._exit = stack
        return self._client

    def key(self, path: str, *, allow_root: bool = False) -> str:
        """Distribution's s3Path: rootdirectory + path, without leading `/`."""
        check_path(path, allow_root=allow_root)
        if path == "/":
            return self._root
        return f"{self._root}{path}" if self._root else path[1:]

    def _dir_prefix(self, path: str) -> str:
        key = self.key(path, allow_root=True)
        return f"{key}/" if key else ""

    def local_path(self, path: str) -> Path | None:
        """No local files."""
        return None

    async def get_content(self, path: str) -> bytes:
        """Whole content of an object."""
        client = await self.client()
        key = self.key(path)
        with translate_errors(path):
            resp = await client.get_object(Bucket=self.settings.bucket, Key=key)
        async with resp["Body"] as body:
            data: bytes = await body.read()
        return data

    async def put_content(self, path: str, content: bytes) -> None:
        """PutObject: S3 replaces an object atomically."""
        client = await self.client()
        await client.put_object(Bucket=self.settings.bucket, Key=self.key(path), Body=content)

    async def reader(self, path: str, offset: int = 0) -> S3Reader:
        """GetObject from offset; reading at the very end gives an empty reader."""
        key = self.key(path)
        if offset < 0:
            raise InvalidOffsetError(path, offset)
        client = await self.client()
        params: dict[str, Any] = {"Bucket": self.settings.bucket, "Key": key}
        if offset:
            params["Range"] = f"bytes={offset}-"
        try:
            resp = await client.get_object(**params)
        except ClientError as exc:
            if is_not_found(exc):
                raise PathNotFoundError(path) from exc
            if error_code(exc) != "InvalidRange":
                raise
            if (await self.stat(path)).size == offset:
                return S3Reader(None)
            raise InvalidOffsetError(path, offset) from exc
        return S3Reader(resp["Body"])

    async def writer(self, path: str, append: bool = False) -> S3Writer:
        """A multipart upload on the key: a new one, or (append) the open one, found by listing."""
        key = self.key(path)
        client = await self.client()
        bucket = self.settings.bucket
        if append:
            found = await self._open_upload(key)
            if found is not None:
                upload_id, parts = found
                return S3Writer(self, path, key, upload_id, parts)
            # No upload in progress: continue the completed object, if there is one, else an
            # empty file. The upload starts with the first write (asking a size writes nothing).
            size = 0
            with contextlib.suppress(PathNotFoundError):
                info = await self.stat(path)
                size = 0 if info.is_dir else info.size
            return S3Writer(self, path, key, None, [], completed=size)
        resp = await client.create_multipart_upload(Bucket=bucket, Key=key)
        return S3Writer(self, path, key, str(resp["UploadId"]), [])

    async def _open_upload(self, key: str) -> tuple[str, list[Part]] | None:
        """The newest multipart upload on exactly this key, with its parts.

        A writer of another request (or process) may complete the upload between the two
        listings while it rebases; the listing then starts again and finds its successor.
        """
        client = await self.client()
        bucket = self.settings.bucket
        for attempt in range(_OPEN_ATTEMPTS):
            uploads: list[dict[str, Any]] = []
            paginator = client.get_paginator("list_multipart_uploads")
            async for page in paginator.paginate(Bucket=bucket, Prefix=key):
                uploads.extend(u for u in page.get("Uploads", []) if u["Key"] == key)
            if not uploads:
                return None
            newest = max(uploads, key=lambda u: u["Initiated"])
            upload_id = str(newest["UploadId"])
            parts: list[Part] = []
            try:
                paginator = client.get_paginator("list_parts")
                async for page in paginator.paginate(Bucket=bucket, Key=key, UploadId=upload_id):
                    parts.extend(
                        Part(int(p["PartNumber"]), str(p["ETag"]), int(p["Size"]))
                        for p in page.get("Parts", [])
                    )
            except ClientError as exc:
                if error_code(exc) != "NoSuchUpload" or attempt == _OPEN_ATTEMPTS - 1:
                    raise
                continue
            parts.sort(key=lambda p: p.number)
            return upload_id, parts
        return None

    async def stat(self, path: str) -> FileInfo:
        """HeadObject for a file; else a directory if some key lies below the path."""
        client = await self.client()
        bucket = self.settings.bucket
        if path != "/":
            try:
                head = await client.head_object(Bucket=bucket, Key=self.key(path))
            except ClientError as exc:
                if not is_not_found(exc):
                    raise
            else:
                modified = head["LastModified"].timestamp()
                return FileInfo(path, int(head["ContentLength"]), modified, False)
        resp = await client.list_objects_v2(Bucket=bucket, Prefix=self._dir_prefix(path), MaxKeys=1)
        if not resp.get("KeyCount", len(resp.get("Contents", []))):
            raise PathNotFoundError(path)
        return FileInfo(path, 0, 0.0, True)

    async def _objects(self, prefix: str, delimiter: str | None = None) -> AsyncIterator[Any]:
        client = await self.client()
        params: dict[str, Any] = {"Bucket": self.settings.bucket, "Prefix": prefix}
        if delimiter is not None:
            params["Delimiter"] = delimiter
        async for page in client.get_paginator("list_objects_v2").paginate(**params):
            yield page

    def _path_of(self, key: str) -> str:
        return "/" + key[len(self._root) :].lstrip("/") if self._root else "/" + key

    async def list(self, path: str) -> builtins.list[str]:
        """Direct children: the common prefixes and objects one level below the path."""
        prefix = self._dir_prefix(path)
        names: set[str] = set()
        async for page in self._objects(prefix, "/"):
            for sub in page.get("CommonPrefixes", []):
                names.add(sub["Prefix"][len(prefix) :].rstrip("/"))
            for obj in page.get("Contents", []):
                names.add(obj["Key"][len(prefix) :])
        names.discard("")
        if not names:
            raise PathNotFoundError(path)
        base = "" if path == "/" else path
        return [f"{base}/{name}" for name in sorted(names)]

    async def walk(self, path: str) -> builtins.list[FileInfo]:
        """Every object below the path plus the directories they imply, depth first, sorted."""
        prefix = self._dir_prefix(path)
        base = "" if path == "/" else path
        entries: dict[str, FileInfo] = {}
        async for page in self._objects(prefix):
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) :]
                if not rel:
                    continue
                parts = rel.split("/")
                for i in range(1, len(parts)):
                    d = f"{base}/{'/'.join(parts[:i])}"
                    entries.setdefault(d, FileInfo(d, 0, 0.0, True))
                full = f"{base}/{rel}"
                modified = obj["LastModified"].timestamp()
                entries[full] = FileInfo(full, int(obj["Size"]), modified, False)
        if not entries:
            raise PathNotFoundError(path)
        # S3 lists in key order, where "a-b" sorts before "a/b"; depth first compares components.
        return [entries[p] for p in sorted(entries, key=lambda p: p.split("/"))]

    async def move(self, source: str, dest: str) -> None:
        """Copy then delete (S3 has no rename), as Distribution's Move does."""
        src, dst = self.key(source), self.key(dest)
        info = await self.stat(source)
        if info.is_dir:
            raise PathNotFoundError(source)
        await self._copy(src, dst, info.size)
        client = await self.client()
        await client.delete_object(Bucket=self.settings.bucket, Key=src)

    async def _copy(self, src: str, dst: str, size: int) -> None:
        """CopyObject, or a multipart copy above multipartcopythresholdsize (Distribution's)."""
        client = await self.client()
        s = self.settings
        source = {"Bucket": s.bucket, "Key": src}
        if size <= s.multipartcopythresholdsize:
            await client.copy_object(Bucket=s.bucket, Key=dst, CopySource=source)
            return
        upload = await client.create_multipart_upload(Bucket=s.bucket, Key=dst)
        upload_id = str(upload["UploadId"])
        chunk = s.multipartcopychunksize
        limit = asyncio.Semaphore(s.multipartcopymaxconcurrency)

        async def copy_part(number: int, start: int) -> dict[str, Any]:
            end = min(start + chunk, size) - 1
            async with limit:
                resp = await client.upload_part_copy(
                    Bucket=s.bucket,
                    Key=dst,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                )
            return {"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]}

        try:
            parts = await asyncio.gather(
                *(copy_part(i + 1, start) for i, start in enumerate(range(0, size, chunk)))
            )
            await client.complete_multipart_upload(
                Bucket=s.bucket, Key=dst, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(Bucket=s.bucket, Key=dst, UploadId=upload_id)
            raise

    async def delete(self, path: str) -> None:
        """Delete the object and every object below the path; abort uploads there too."""
        key = self.key(path)
        client = await self.client()
        bucket = self.settings.bucket
        below = f"{key}/"
        keys: builtins.list[str] = []
        async for page in self._objects(key):
            keys.extend(
                o["Key"]
                for o in page.get("Contents", [])
                if o["Key"] in (key,) or o["Key"].startswith(below)
            )
        aborted = 0
        paginator = client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=bucket, Prefix=key):
            for upload in page.get("Uploads", []):
                if upload["Key"] == key or upload["Key"].startswith(below):
                    with contextlib.suppress(ClientError):
                        await client.abort_multipart_upload(
                            Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    aborted += 1
        if not keys and not aborted:
            raise PathNotFoundError(path)
        for i in range(0, len(keys), _DELETE_BATCH):
            batch = keys[i : i + _DELETE_BATCH]
            await client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )

    async def url_for(self, path: str) -> str | None:
        """A presigned GET URL for the object (Distribution's URLFor), valid for 20 minutes."""
        client = await self.client()
        url: str = await client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.settings.bucket, "Key": self.key(path)},
            ExpiresIn=PRESIGN_SECONDS,
        )
        return url

    async def aclose(self) -> None:
        """Close the client's connection pool."""
        if self._exit is not None:
            stack, self._exit = self._exit, None
            self._client = None
            await stack.aclose()
