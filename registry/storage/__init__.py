"""Storage facade: wires the filesystem driver to the blob, upload, manifest and tag stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from registry.storage.blobs import BlobInfo, BlobStore
from registry.storage.cached_manifests import CachedManifestStore, ManifestLookup
from registry.storage.catalog import paginate, repositories_with, repository_sort_key
from registry.storage.driver import StorageDriver
from registry.storage.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadUnknown,
    DigestMismatch,
    InvalidOffset,
    ManifestUnknown,
    RepositoryUnknown,
    SizeMismatch,
    StorageError,
    TagUnknown,
)
from registry.storage.filesystem import FilesystemDriver
from registry.storage.instrumented import InstrumentedDriver, Observer
from registry.storage.manifests import ManifestStore
from registry.storage.paths import ManifestsPath
from registry.storage.tags import TagStore
from registry.storage.threads import Offloader
from registry.storage.uploads import UploadState, UploadStore

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobTooLarge",
    "BlobUnknown",
    "BlobUploadUnknown",
    "CachedManifestStore",
    "DigestMismatch",
    "InvalidOffset",
    "ManifestLookup",
    "ManifestStore",
    "ManifestUnknown",
    "RepositoryUnknown",
    "SizeMismatch",
    "Storage",
    "StorageError",
    "TagStore",
    "TagUnknown",
    "UploadState",
    "UploadStore",
]


class Storage:
    """All stores over one storage root; create one per app and `await aclose()` it."""

    def __init__(
        self,
        root: Path,
        *,
        delete_enabled: bool = False,
        max_blob_size: int | None = None,
        driver: StorageDriver | None = None,
        fsync: bool = True,
        observe: Observer | None = None,
    ) -> None:
        self.root = Path(root)
        self.delete_enabled = delete_enabled
        self._offload = Offloader()
        # `driver` lets tests run the stores over another driver; the app always uses files.
        self.driver: StorageDriver = driver or FilesystemDriver(
            self.root, offload=self._offload, fsync=fsync
        )
        if observe is not None:
            # Metrics on: every driver call is timed (registry_storage_action_seconds).
            self.driver = InstrumentedDriver(self.driver, "filesystem", observe)
        self.blobs = BlobStore(self.driver)
        self.uploads = UploadStore(
            self.driver, self.blobs, self._offload, max_blob_size=max_blob_size
        )
        self.tags = TagStore(self.driver)
        # Manifest and tag writes go through `manifests`, which drops what it cached of the
        # repository; `tags` serves tag listings and resolution only.
        self.manifests = CachedManifestStore(
            ManifestStore(self.driver, self.blobs, self.tags), self.tags
        )

    async def repositories(
        self,
        *,
        last: str | None = None,
        n: int | None = None,
        visible: Callable[[str], bool] | None = None,
    ) -> list[str]:
        """Repositories with manifests, in Distribution's catalog order, after `last`, at most n.

        With `visible`, hidden names are dropped before paginating, so every page is full and
        `last` of one page leads to the next visible name.
        """
        names = await repositories_with(self.driver, ManifestsPath)
        if visible is not None:
            names = [name for name in names if visible(name)]
        return paginate(names, last, n, repository_sort_key)

    async def aclose(self) -> None:
        """Release the driver and the thread pool."""
        await self.driver.aclose()
        self._offload.shutdown()
