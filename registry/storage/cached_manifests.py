"""CachedManifestStore: manifest lookups served from memory, in front of the manifest/tag stores.

Why: a manifest GET by tag costs three small file reads (tag link, revision link, bytes), and
every read handed to a worker thread costs 80-200 µs of wake-ups on a small VM, which caps a
Python registry near Distribution's own rate.  Serving repeated lookups from memory is what
lets a pull-heavy workload (the bench's R1 row: manifest GET by tag) run at several times
Distribution's rate.

Two ``svckit.cache.Cache`` instances, as distribution's ``cachedBlobStatter`` wraps a statter:

- lookups, (repository, tag or digest) -> digest, bytes and ManifestInfo, kept ``ttl`` seconds
  and bounded by the total size of the manifests held;
- ManifestInfo by digest.  Manifests are content-addressed: the bytes behind a digest never
  change, so what is derived from them never goes stale and does not expire.  Whether a
  repository links a digest is mutable, and is always asked of storage.

Consistency: every write made through this store (put, tag, untag, delete) drops the
repository's lookups when it ends, whether it succeeded or not, and voids the lookups in
flight, so a read that raced a write is never cached.  This process therefore always reads its
own writes.  Changes made by *another* process on the same storage root (a second registry,
an offline gc) become visible within ``ttl``.  Distribution's in-memory blob descriptor cache
makes the same single-writer assumption, without any expiry.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from registry.digest import Digest
from registry.manifest_info import ManifestInfo, describe
from registry.storage.manifests import ManifestStore
from registry.storage.tags import TagStore
from svckit.cache import Cache, Clock

DEFAULT_TTL = 2.0
# What an entry costs beyond its manifest bytes (key, record, info), counted in its weight.
ENTRY_OVERHEAD = 512
DEFAULT_MAX_BYTES = 32 << 20
# Counts as well as bytes: each entry also costs a few hundred bytes of Python objects.
DEFAULT_MAX_LOOKUPS = 16384
DEFAULT_MAX_INFOS = 4096


@dataclass(frozen=True, slots=True)
class ManifestLookup:
    """What a manifest GET answers with: the digest a reference names, its bytes and facts."""

    digest: Digest
    content: bytes
    info: ManifestInfo


class CachedManifestStore:
    """Manifest reads through memory caches; every manifest and tag write of the API goes here."""

    def __init__(
        self,
        manifests: ManifestStore,
        tags: TagStore,
        *,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_lookups: int = DEFAULT_MAX_LOOKUPS,
        max_infos: int = DEFAULT_MAX_INFOS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._manifests = manifests
        self._tags = tags
        self.lookups: Cache[tuple[str, str], ManifestLookup] = Cache(
            ttl=ttl,
            max_entries=max_lookups,
            max_weight=max_bytes,
            weigh=lambda found: len(found.content) + ENTRY_OVERHEAD,
            clock=clock,
        )
        self.infos: Cache[Digest, ManifestInfo] = Cache(ttl=None, max_entries=max_infos)

    # --- reads ------------------------------------------------------------------------------

    async def lookup(self, name: str, reference: Digest | str) -> ManifestLookup:
        """The manifest a digest or tag names (ManifestUnknown, TagUnknown, RepositoryUnknown)."""
        return await self.lookups.get_or_load(
            (name, str(reference)), lambda: self._read(name, reference)
        )

    async def _read(self, name: str, reference: Digest | str) -> ManifestLookup:
        if isinstance(reference, Digest):
            digest = reference
        else:
            digest = await self._tags.resolve(name, reference)
        content = await self._manifests.get(name, digest)
        return ManifestLookup(digest, content, self._describe(digest, content))

    def _describe(self, digest: Digest, content: bytes) -> ManifestInfo:
        return self.infos.get_or_compute(digest, lambda: describe(content))

    async def info(self, name: str, digest: Digest) -> ManifestInfo:
        """Facts about a revision the repository links (ManifestUnknown if it has no bytes).

        Only a digest not seen before costs a read; the caller has asked storage whether the
        repository links it (``list_digests``).
        """
        info = self.infos.get(digest)
        if info is None:
            info = self._describe(digest, await self._manifests.get(name, digest))
        return info

    async def get(self, name: str, digest: Digest) -> bytes:
        """Manifest bytes from storage, uncached (ManifestUnknown if not in the repository)."""
        return await self._manifests.get(name, digest)

    async def exists(self, name: str, digest: Digest) -> bool:
        """True if the repository links the revision and its bytes exist (asked of storage)."""
        return await self._manifests.exists(name, digest)

    async def list_digests(self, name: str) -> list[Digest]:
        """Every revision the repository links, sorted (asked of storage)."""
        return await self._manifests.list_digests(name)

    # --- writes: each drops the repository's lookups ------------------------------------------

    @contextlib.contextmanager
    def _changing(self, name: str) -> Iterator[None]:
        try:
            yield
        finally:
            # Also on failure: a write that failed half-way may still have changed storage.
            self.lookups.invalidate_where(lambda key: key[0] == name)

    async def put(self, name: str, content: bytes, digest: Digest) -> None:
        """Store validated manifest bytes and link the revision into the repository."""
        with self._changing(name):
            await self._manifests.put(name, content, digest)
        # A pushed manifest is usually pulled next, and its facts are known now.
        self._describe(digest, content)

    async def tag(self, name: str, tag: str, digest: Digest) -> None:
        """Point a tag at a revision (the last of concurrent tag writes wins)."""
        with self._changing(name):
            await self._tags.tag(name, tag, digest)

    async def untag(self, name: str, tag: str) -> None:
        """Remove a tag (TagUnknown, or RepositoryUnknown for an unknown repository)."""
        with self._changing(name):
            await self._tags.untag(name, tag)

    async def delete(self, name: str, digest: Digest) -> list[str]:
        """Remove a revision and every tag pointing at it (ManifestUnknown if not linked).

        Returns the tags removed.
        """
        with self._changing(name):
            return await self._manifests.delete(name, digest)
