"""Tags: `_manifests/tags/<tag>/current/link` plus an index of past revisions (tagStore)."""

from __future__ import annotations

import asyncio
import builtins

from registry.digest import Digest
from registry.reference import is_tag
from registry.storage.catalog import paginate
from registry.storage.driver import PathNotFoundError, StorageDriver
from registry.storage.errors import RepositoryUnknown, TagUnknown
from registry.storage.links import delete_quietly, read_link, write_link
from registry.storage.paths import (
    ManifestsPath,
    TagCurrentLinkPath,
    TagIndexEntryLinkPath,
    TagPath,
    TagsPath,
    path_for,
)

# Current links read at once when listing tags (Distribution reads up to 64 at once,
# STORAGE_TAGSTORE_LOOKUP_CONCURRENCY); each read is a thread hop or an S3 GET.
READ_CONCURRENCY = 16


class TagStore:
    """Tag lookup, listing and (atomic) re-pointing for each repository."""

    def __init__(self, driver: StorageDriver) -> None:
        self._driver = driver

    async def _require_repository(self, name: str) -> None:
        try:
            await self._driver.stat(path_for(ManifestsPath(name)))
        except PathNotFoundError:
            raise RepositoryUnknown(name) from None

    async def resolve(self, name: str, tag: str) -> Digest:
        """Digest the tag points at (TagUnknown, or RepositoryUnknown for an unknown repo)."""
        digest = None
        if is_tag(tag):
            digest = await read_link(self._driver, path_for(TagCurrentLinkPath(name, tag)))
        if digest is None:
            await self._require_repository(name)
            raise TagUnknown(tag)
        return digest

    async def tag(self, name: str, tag: str, digest: Digest) -> None:
        """Point tag at digest: the current link is replaced by one atomic rename.

        Concurrent tag requests each rename a complete link file, so the last one wins and
        the tag is never torn.  The current link is written before the index entry, so a crash
        in between leaves a fully usable tag rather than a tag directory without a link.
        """
        await write_link(self._driver, path_for(TagCurrentLinkPath(name, tag)), digest)
        await write_link(self._driver, path_for(TagIndexEntryLinkPath(name, tag, digest)), digest)

    async def all(self, name: str) -> builtins.list[str]:
        """Every tag that has a current link, sorted (RepositoryUnknown for an unknown repo)."""
        return sorted(await self._current(name))

    async def _current(self, name: str) -> dict[str, Digest]:
        """Each tag of the repository with the digest its current link names.

        One listing of `tags/` and one read per tag, as Distribution's tagStore.All and Lookup:
        the cost follows the number of tags, not their history. (A walk would also visit the
        `index/` entries, one per digest a tag ever named, so a tag pushed by every CI run
        would make each listing and each delete by digest slower and hungrier.) A tag
        directory without a current link is a crash leftover, not a tag.
        """
        root = path_for(TagsPath(name))
        try:
            entries = await self._driver.list(root)
        except PathNotFoundError:
            await self._require_repository(name)
            return {}
        names = [tag for tag in (entry.rsplit("/", 1)[-1] for entry in entries) if is_tag(tag)]
        limit = asyncio.Semaphore(READ_CONCURRENCY)

        async def current(tag: str) -> Digest | None:
            async with limit:
                return await read_link(self._driver, path_for(TagCurrentLinkPath(name, tag)))

        digests = await asyncio.gather(*(current(tag) for tag in names))
        return {tag: d for tag, d in zip(names, digests, strict=True) if d is not None}

    async def list(
        self, name: str, *, last: str | None = None, n: int | None = None
    ) -> builtins.list[str]:
        """Tags in lexical order, after `last`, at most n (OCI "Listing Tags")."""
        return paginate(await self.all(name), last, n)

    async def lookup(self, name: str, digest: Digest) -> builtins.list[str]:
        """Tags whose current link points at digest, sorted."""
        try:
            current = await self._current(name)
        except RepositoryUnknown:
            return []
        return sorted(tag for tag, d in current.items() if d == digest)

    async def untag(self, name: str, tag: str) -> None:
        """Remove a tag with its index (TagUnknown if it does not exist)."""
        await self.resolve(name, tag)
        await delete_quietly(self._driver, path_for(TagPath(name, tag)))
