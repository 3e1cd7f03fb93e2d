"""Facts derived from manifest bytes (media type, subject, artifact type), for GET and referrers.

Manifests are content-addressed: the bytes behind a digest never change, so these facts can be
cached by digest without invalidation (storage/cached_manifests.py does).
"""

from __future__ import annotations

import sys
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
        return ManifestInfo(media_type=sys.intern(sniff_media_type(content)), size=len(content))
    return ManifestInfo(
        # Interned: the cache keeps thousands of these and they share a handful of media types.
        media_type=sys.intern(manifest.media_type),
        size=len(content),
        subject=manifest.subject.digest if manifest.subject is not None else None,
        artifact_type=manifest.referrer_artifact_type,
        annotations=manifest.annotations,
    )
