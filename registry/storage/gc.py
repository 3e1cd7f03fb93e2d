"""Offline mark-and-sweep garbage collection, with Distribution's `garbage-collect` semantics.

Mark: in every repository, every manifest revision is a root (with delete_untagged, only the
revisions that a tag currently points at).  A root, every manifest it reaches through an
index's `manifests`, and every blob any of them references (config, layers, `blobs`,
schema 1 `fsLayers`) are marked.  Sweep: with delete_untagged, unmarked revisions lose their
revision link and tag-index entries; then every blob of the global store that is not marked
is deleted, together with the repositories' layer links to it.

Unlike Distribution 2.8, the children of a tagged index survive delete_untagged (2.8 deleted
them because they carry no tag of their own; 3.x fixed that).  Like Distribution, run it while
the registry is stopped or read-only: a blob uploaded during the run but not yet referenced by
a manifest would be collected.  Read-only mode is enforced by the HTTP API only, so it does
not stop GC.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from registry.digest import Digest
from registry.storage import Storage
from registry.storage.catalog import repositories_with
from registry.storage.driver import PathNotFoundError
from registry.storage.errors import ManifestUnknown, TagUnknown
from registry.storage.links import delete_quietly
from registry.storage.paths import (
    BlobPath,
    BlobsRootPath,
    LayerLinkPath,
    LayerPath,
    LayersPath,
    ManifestRevisionPath,
    ManifestsPath,
    TagIndexEntryPath,
    parse_blob_data_path,
    parse_link_path,
    path_for,
)

log = logging.getLogger(__name__)


@dataclass
class GcReport:
    """What a collection marked and (unless dry_run) deleted."""

    dry_run: bool
    repositories: int = 0
    marked: set[Digest] = field(default_factory=set)
    deleted_manifests: list[tuple[str, Digest]] = field(default_factory=list)
    deleted_blobs: list[Digest] = field(default_factory=list)
    deleted_layer_links: list[tuple[str, Digest]] = field(default_factory=list)

    def summary(self) -> str:
        """One line like Distribution's final gc message."""
        verb = "eligible for deletion" if self.dry_run else "deleted"
        return (
            f"{self.repositories} repositories, {len(self.marked)} blobs marked, "
            f"{len(self.deleted_blobs)} blobs and {len(self.deleted_manifests)} manifests "
            f"{verb}, {len(self.deleted_layer_links)} layer links {verb}"
        )


def _descriptor_digest(value: object) -> Digest | None:
    if not isinstance(value, dict):
        return None
    raw = value.get("digest", value.get("blobSum"))
    if not isinstance(raw, str):
        return None
    try:
        return Digest.parse(raw)
    except ValueError:
        return None


def referenced_digests(content: bytes) -> tuple[set[Digest], set[Digest]]:
    """(blobs, child manifests) a manifest references; ({}, {}) for content that is not JSON.

    Kept private to storage on purpose: GC must not depend on the HTTP layer's validator, and
    only needs the descriptor lists of the image-spec and Docker formats.
    """
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, ValueError):
        return set(), set()
    if not isinstance(doc, dict):
        return set(), set()
    blobs: set[Digest] = set()
    children: set[Digest] = set()
    single = [doc.get("config")]
    lists = [doc.get("layers"), doc.get("blobs"), doc.get("fsLayers")]
    for value in single + [item for lst in lists if isinstance(lst, list) for item in lst]:
        digest = _descriptor_digest(value)
        if digest is not None:
            blobs.add(digest)
    manifests = doc.get("manifests")
    if isinstance(manifests, list):
        for value in manifests:
            digest = _descriptor_digest(value)
            if digest is not None:
                children.add(digest)
    return blobs, children


async def _mark_repository(
    storage: Storage, name: str, delete_untagged: bool, marked: set[Digest]
) -> set[Digest]:
    """Mark what repository `name` keeps; return the unmarked (untagged) revisions."""
    revisions = set(await storage.manifests.list_digests(name))
    if delete_untagged:
        roots: set[Digest] = set()
        for tag in await storage.tags.all(name):
            try:
                roots.add(await storage.tags.resolve(name, tag))
            except TagUnknown:
                continue
        roots &= revisions
    else:
        roots = set(revisions)
    kept: set[Digest] = set()
    stack = sorted(roots, key=str)
    while stack:
        digest = stack.pop()
        if digest in kept:
            continue
        kept.add(digest)
        marked.add(digest)
        log.debug("%s: marking manifest %s", name, digest)
        try:
            content = await storage.manifests.get(name, digest)
        except ManifestUnknown:
            log.warning("%s: manifest %s is linked but its blob is missing", name, digest)
            continue
        blobs, children = referenced_digests(content)
        marked |= blobs | children
        stack.extend(child for child in children if child in revisions and child not in kept)
    return revisions - kept


async def collect(
    storage: Storage, *, dry_run: bool = False, delete_untagged: bool = False
) -> GcReport:
    """Mark and sweep the storage root; with dry_run only report what would be deleted."""
    driver = storage.driver
    report = GcReport(dry_run=dry_run)
    untagged: list[tuple[str, Digest]] = []
    repos = await repositories_with(driver, ManifestsPath)
    report.repositories = len(repos)
    for name in repos:
        unmarked = await _mark_repository(storage, name, delete_untagged, report.marked)
        if delete_untagged:
            untagged.extend((name, digest) for digest in sorted(unmarked, key=str))

    tags: dict[str, list[str]] = {}
    for name, digest in untagged:
        log.info("%s: manifest %s eligible for deletion", name, digest)
        report.deleted_manifests.append((name, digest))
        if dry_run:
            continue
        if name not in tags:
            tags[name] = await storage.tags.all(name)
        # Distribution's vacuum.RemoveManifest: tag index entries, then the revision.
        for tag in tags[name]:
            await delete_quietly(driver, path_for(TagIndexEntryPath(name, tag, digest)))
        await delete_quietly(driver, path_for(ManifestRevisionPath(name, digest)))

    try:
        entries = await driver.walk(path_for(BlobsRootPath()))
    except PathNotFoundError:
        entries = []
    doomed: set[Digest] = set()
    for entry in entries:
        blob = None if entry.is_dir else parse_blob_data_path(entry.path)
        if blob is None or blob in report.marked:
            continue
        log.info("blob eligible for deletion: %s", blob)
        doomed.add(blob)
        report.deleted_blobs.append(blob)
        if not dry_run:
            await delete_quietly(driver, path_for(BlobPath(blob)))

    if doomed:
        for name in await repositories_with(driver, LayersPath):
            for entry in await driver.walk(path_for(LayersPath(name))):
                linked = parse_link_path(entry.path)
                if linked not in doomed or linked is None:
                    continue
                if entry.path == path_for(LayerLinkPath(name, linked)):
                    report.deleted_layer_links.append((name, linked))
                    if not dry_run:
                        await delete_quietly(driver, path_for(LayerPath(name, linked)))
    return report
