"""A short-lived cache of manifest lookups: (repository, tag or digest) -> digest and bytes.

Why: a manifest GET by tag costs three small file reads (tag link, revision link, bytes), and
every read handed to a worker thread costs 80-200 µs of wake-ups on a small VM, which caps
a Python registry near Distribution's own rate.  Serving repeated lookups from memory is what
lets a pull-heavy workload run at several times Distribution's rate (issue 5, R1).

Consistency: after every write this process makes to a repository's manifests or tags (PUT,
DELETE) the handler drops that repository's entries and bumps its generation; a lookup that
began before the bump is not cached.  So this process always reads its own writes.  Changes
made by *another* process on the same storage root (a second registry, an offline gc) become
visible after at most `ttl` seconds.  Distribution's in-memory blob descriptor cache makes the
same single-writer assumption, without any expiry.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from registry.digest import Digest
from registry.manifest_info import ManifestInfo

DEFAULT_TTL = 2.0
DEFAULT_MAX_BYTES = 32 << 20


@dataclass(frozen=True, slots=True)
class CachedManifest:
    """What a manifest GET answers with."""

    digest: Digest
    content: bytes
    info: ManifestInfo


class ManifestCache:
    """LRU of recent lookups, bounded by total manifest bytes, each entry valid for `ttl`."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_bytes = max_bytes
        self._clock = clock
        self._bytes = 0
        self._entries: OrderedDict[tuple[str, str], tuple[float, CachedManifest]] = OrderedDict()
        self._generations: dict[str, int] = {}

    def generation(self, name: str) -> int:
        """Take this before reading storage; pass it to `put`."""
        return self._generations.get(name, 0)

    def get(self, name: str, reference: str) -> CachedManifest | None:
        """The cached lookup, or None if absent or expired."""
        key = (name, reference)
        hit = self._entries.get(key)
        if hit is None:
            return None
        expires, entry = hit
        if self._clock() >= expires:
            self._drop(key)
            return None
        return entry

    def put(self, name: str, reference: str, entry: CachedManifest, generation: int) -> None:
        """Remember a lookup read from storage, unless the repository changed meanwhile."""
        if self._ttl <= 0 or len(entry.content) > self._max_bytes // 4:
            return
        if generation != self.generation(name):
            return
        key = (name, reference)
        self._drop(key)
        self._entries[key] = (self._clock() + self._ttl, entry)
        self._bytes += len(entry.content)
        while self._bytes > self._max_bytes:
            self._drop(next(iter(self._entries)))

    def forget_repository(self, name: str) -> None:
        """Drop every entry of a repository (called after its manifests or tags changed)."""
        self._generations[name] = self.generation(name) + 1
        for key in [key for key in self._entries if key[0] == name]:
            self._drop(key)

    def _drop(self, key: tuple[str, str]) -> None:
        hit = self._entries.pop(key, None)
        if hit is not None:
            self._bytes -= len(hit[1].content)

    def __len__(self) -> int:
        return len(self._entries)
