"""Manifest revisions: bytes in the blob store, linked by `_manifests/revisions/.../link`."""

from __future__ import annotations

from registry.digest import Digest
from registry.storage.blobs import BlobStore
from registry.storage.driver import PathNotFoundError, StorageDriver
from registry.storage.errors import BlobUnknown, DigestMismatch, ManifestUnknown
from registry.storage.links import delete_quietly, read_link, write_link
from registry.storage.paths import (
    ManifestRevisionLinkPath,
    ManifestRevisionPath,
    ManifestRevisionsPath,
    parse_link_path,
    path_for,
)
from registry.storage.tags import TagStore


class ManifestStore:
    """Per-repository manifest revisions (Distribution's manifestStore over a linkedBlobStore)."""

    def __init__(self, driver: StorageDriver, blobs: BlobStore, tags: TagStore) -> None:
        self._driver = driver
        self._blobs = blobs
        self._tags = tags

    async def _target(self, name: str, digest: Digest) -> Digest | None:
        return await read_link(self._driver, path_for(ManifestRevisionLinkPath(name, digest)))

    async def exists(self, name: str, digest: Digest) -> bool:
        """True if the revision is linked in the repository and its bytes exist."""
        target = await self._target(name, digest)
        return target is not None and await self._blobs.exists_global(target) is not None

    async def get(self, name: str, digest: Digest) -> bytes:
        """Manifest bytes exactly as pushed (ManifestUnknown if not in the repository)."""
        target = await self._target(name, digest)
        if target is None:
            raise ManifestUnknown(str(digest))
        try:
            return await self._blobs.get_bytes(target)
        except BlobUnknown:
            raise ManifestUnknown(str(digest)) from None

    async def put(self, name: str, content: bytes, digest: Digest) -> None:
        """Store already-validated manifest bytes and link the revision into the repository."""
        actual = Digest.of_bytes(content, digest.algorithm)
        if actual != digest:
            raise DigestMismatch(digest, actual)
        await self._blobs.put_bytes(digest, content)
        await write_link(self._driver, path_for(ManifestRevisionLinkPath(name, digest)), digest)

    async def delete(self, name: str, digest: Digest) -> list[str]:
        """Remove the revision and every tag currently pointing at it (as Distribution does).

        Returns the tags removed, for the notifications' tag delete events.
        """
        if await self._target(name, digest) is None:
            raise ManifestUnknown(str(digest))
        tags = await self._tags.lookup(name, digest)
        for tag in tags:
            await self._tags.untag(name, tag)
        await delete_quietly(self._driver, path_for(ManifestRevisionPath(name, digest)))
        return list(tags)

    async def list_digests(self, name: str) -> list[Digest]:
        """Digests of every revision linked in the repository, sorted by their string form."""
        try:
            entries = await self._driver.walk(path_for(ManifestRevisionsPath(name)))
        except PathNotFoundError:
            return []
        found = set()
        for entry in entries:
            digest = parse_link_path(entry.path)
            # Equality with the spec's path skips schema 1 `signatures/<alg>/<hex>/link` files.
            if digest and entry.path == path_for(ManifestRevisionLinkPath(name, digest)):
                found.add(digest)
        return sorted(found, key=str)
