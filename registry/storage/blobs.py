"""Blobs: the global content-addressable store plus per-repository links (linkedBlobStore)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from registry.digest import Digest
from registry.storage.driver import FileReader, PathNotFoundError, StorageDriver
from registry.storage.errors import BlobUnknown
from registry.storage.links import delete_quietly, read_link, write_link
from registry.storage.paths import BlobDataPath, LayerLinkPath, LayerPath, path_for


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """A blob's digest and length."""

    digest: Digest
    size: int


class BlobStore:
    """Repository-scoped blob access: a blob is visible in a repo only through its layer link."""

    def __init__(self, driver: StorageDriver) -> None:
        self._driver = driver

    async def exists_global(self, digest: Digest) -> BlobInfo | None:
        """BlobInfo of a blob in the global store, whatever repository links it, or None."""
        try:
            info = await self._driver.stat(path_for(BlobDataPath(digest)))
        except PathNotFoundError:
            return None
        return None if info.is_dir else BlobInfo(digest, info.size)

    async def stat(self, name: str, digest: Digest) -> BlobInfo:
        """BlobInfo of a blob linked in the repository (link and data must both exist)."""
        target = await read_link(self._driver, path_for(LayerLinkPath(name, digest)))
        if target is None:
            raise BlobUnknown(digest)
        # Like Distribution's linkedBlobStatter, follow the digest written in the link.
        info = await self.exists_global(target)
        if info is None:
            raise BlobUnknown(digest)
        return BlobInfo(digest, info.size)

    def local_file(self, digest: Digest) -> Path | None:
        """Local file holding a blob's bytes, for zero-copy responses; None off the filesystem."""
        return self._driver.local_path(path_for(BlobDataPath(digest)))

    def data_path(self, digest: Digest) -> Path:
        """Local file holding a blob's bytes, for zero-copy responses (call stat first)."""
        local = self.local_file(digest)
        if local is None:
            raise RuntimeError("the storage driver has no local files")
        return local

    async def open(self, digest: Digest, offset: int = 0) -> FileReader:
        """A reader of a blob's bytes from offset (call stat first)."""
        try:
            return await self._driver.reader(path_for(BlobDataPath(digest)), offset)
        except PathNotFoundError:
            raise BlobUnknown(digest) from None

    async def url(self, digest: Digest) -> str | None:
        """A URL that serves the blob's bytes directly (S3 presigned), or None."""
        return await self._driver.url_for(path_for(BlobDataPath(digest)))

    async def link(self, name: str, digest: Digest) -> None:
        """Make a blob of the global store visible in a repository."""
        await write_link(self._driver, path_for(LayerLinkPath(name, digest)), digest)

    async def delete(self, name: str, digest: Digest) -> None:
        """Unlink a blob from a repository; its data stays until garbage collection."""
        await self.stat(name, digest)
        await delete_quietly(self._driver, path_for(LayerPath(name, digest)))

    async def mount(self, from_name: str, name: str, digest: Digest) -> BlobInfo:
        """Link a blob that from_name already links into name (cross-repository mount)."""
        info = await self.stat(from_name, digest)
        await self.link(name, digest)
        return info

    async def put_bytes(self, digest: Digest, content: bytes) -> None:
        """Store small content (a manifest) in the global store, keeping an existing copy."""
        if await self.exists_global(digest) is None:
            await self._driver.put_content(path_for(BlobDataPath(digest)), content)

    async def get_bytes(self, digest: Digest) -> bytes:
        """Whole content of a blob of the global store (manifests only: small)."""
        try:
            return await self._driver.get_content(path_for(BlobDataPath(digest)))
        except PathNotFoundError:
            raise BlobUnknown(digest) from None
