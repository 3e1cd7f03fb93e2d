"""Facts derived from manifest bytes (media type, subject, artifact type), cached by digest.

Manifests are content-addressed: the bytes behind a digest never change, so what we derive
from them (media type, subject, artifact type) can be cached without invalidation.  Whether
a repository links a digest is mutable and is always asked of storage.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from registry.digest import Digest
from registry.manifest import ManifestError, parse_manifest, sniff_media_type


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """What GET and the referrers API need to know about stored manifest bytes."""

    media_type: str
    size: int
    subject: Digest | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = None


def describe(content: bytes) -> ManifestInfo:
    """ManifestInfo of stored bytes; lenient, since a tree Distribution wrote may hold anything."""
    try:
        manifest = parse_manifest(content)
    except ManifestError:
        return ManifestInfo(media_type=sniff_media_type(content), size=len(content))
    return ManifestInfo(
        media_type=manifest.media_type,
        size=len(content),
        subject=manifest.subject.digest if manifest.subject is not None else None,
        artifact_type=manifest.referrer_artifact_type,
        annotations=manifest.annotations,
    )


class ManifestInfoCache:
    """An LRU of ManifestInfo by digest (bounded by entry count)."""

    def __init__(self, max_entries: int = 65536) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[Digest, ManifestInfo] = OrderedDict()

    def get(self, digest: Digest) -> ManifestInfo | None:
        """Cached info, or None."""
        info = self._entries.get(digest)
        if info is not None:
            self._entries.move_to_end(digest)
        return info

    def info(self, digest: Digest, content: bytes) -> ManifestInfo:
        """Info for content whose digest is `digest`, computed once."""
        info = self.get(digest)
        if info is None:
            info = describe(content)
            self._entries[digest] = info
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return info
