"""Mark-and-sweep garbage collection with Distribution's garbage-collect semantics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from registry.digest import Digest
from registry.storage import BlobUnknown, ManifestUnknown, Storage
from registry.storage.driver import PathNotFoundError
from registry.storage.gc import collect, referenced_digests
from registry.storage.paths import BlobDataPath, TagIndexEntryLinkPath, path_for

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def blob(storage: Storage, name: str, data: bytes) -> Digest:
    digest = Digest.of_bytes(data)
    await storage.uploads.put_monolithic(name, digest, one(data))
    return digest


def descriptor(digest: Digest, media_type: str = "application/octet-stream") -> dict[str, object]:
    return {"mediaType": media_type, "digest": str(digest), "size": 1}


async def manifest(storage: Storage, name: str, doc: dict[str, object]) -> Digest:
    content = json.dumps(doc).encode()
    digest = Digest.of_bytes(content)
    await storage.manifests.put(name, content, digest)
    return digest


async def image(storage: Storage, name: str, label: str, *layers: Digest) -> tuple[Digest, Digest]:
    config = await blob(storage, name, f"config {label}".encode())
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config),
        "layers": [descriptor(layer) for layer in layers],
    }
    return await manifest(storage, name, doc), config


@dataclass
class World:
    """A small registry: tagged, untagged, multi-arch and orphan content in two repos."""

    m0: Digest
    c0: Digest
    l0: Digest
    m1: Digest
    c1: Digest
    l1: Digest
    l2: Digest
    index: Digest
    m2: Digest
    c2: Digest
    l3: Digest
    m3: Digest
    c3: Digest
    orphan: Digest
    m4: Digest
    c4: Digest
    l5: Digest


@pytest.fixture
async def world(storage: Storage) -> World:
    l0, l1, l2 = [await blob(storage, "app", f"layer {i}".encode()) for i in range(3)]
    m0, c0 = await image(storage, "app", "0", l0, l1)
    await storage.tags.tag("app", "v1", m0)
    m1, c1 = await image(storage, "app", "1", l1, l2)
    await storage.tags.tag("app", "v1", m1)  # m0 is now untagged, but in v1's index
    l3 = await blob(storage, "app", b"layer 3")
    m2, c2 = await image(storage, "app", "2", l3)
    m3, c3 = await image(storage, "app", "3")
    index = await manifest(
        storage,
        "app",
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(m2, OCI_MANIFEST), descriptor(m3, OCI_MANIFEST)],
        },
    )
    await storage.tags.tag("app", "multi", index)
    orphan = await blob(storage, "app", b"pushed but never referenced")
    l5 = await blob(storage, "other/repo", b"layer 5")
    m4, c4 = await image(storage, "other/repo", "4", l5)
    return World(m0, c0, l0, m1, c1, l1, l2, index, m2, c2, l3, m3, c3, orphan, m4, c4, l5)


async def present(storage: Storage, digest: Digest) -> bool:
    return await storage.blobs.exists_global(digest) is not None


async def test_empty_root(storage: Storage) -> None:
    report = await collect(storage)
    assert report.repositories == 0
    assert not report.deleted_blobs and not report.deleted_manifests


async def test_dry_run_deletes_nothing(storage: Storage, world: World) -> None:
    report = await collect(storage, dry_run=True, delete_untagged=True)
    assert set(report.deleted_blobs) == {
        world.orphan, world.m0, world.c0, world.l0, world.m4, world.c4, world.l5
    }  # fmt: skip
    for digest in report.deleted_blobs:
        assert await present(storage, digest)
    assert await storage.manifests.get("app", world.m0)
    assert "eligible for deletion" in report.summary()


async def test_collect_keeps_every_revision_by_default(storage: Storage, world: World) -> None:
    report = await collect(storage)
    assert report.repositories == 2
    assert report.deleted_blobs == [world.orphan]
    assert report.deleted_manifests == []
    assert report.deleted_layer_links == [("app", world.orphan)]
    assert not await present(storage, world.orphan)
    with pytest.raises(BlobUnknown):
        await storage.blobs.stat("app", world.orphan)
    for digest in (world.m0, world.c0, world.l0, world.m4, world.l5, world.index, world.l3):
        assert await present(storage, digest)
    assert await storage.manifests.get("app", world.m0)


async def test_delete_untagged(storage: Storage, world: World) -> None:
    report = await collect(storage, delete_untagged=True)
    assert sorted(report.deleted_manifests) == sorted([("app", world.m0), ("other/repo", world.m4)])
    gone = {world.orphan, world.m0, world.c0, world.l0, world.m4, world.c4, world.l5}
    assert set(report.deleted_blobs) == gone
    for digest in gone:
        assert not await present(storage, digest)
    with pytest.raises(ManifestUnknown):
        await storage.manifests.get("app", world.m0)
    # m0 was in v1's tag index: Distribution's RemoveManifest drops that entry too.
    with pytest.raises(PathNotFoundError):
        await storage.driver.get_content(path_for(TagIndexEntryLinkPath("app", "v1", world.m0)))
    # Tagged content and the children of a tagged index survive, blobs shared with m0 too.
    kept = (world.m1, world.c1, world.l1, world.l2, world.index, world.m2, world.c2, world.l3)
    for digest in (*kept, world.m3, world.c3):
        assert await present(storage, digest)
    assert await storage.tags.resolve("app", "v1") == world.m1
    assert await storage.manifests.get("app", world.m2)
    assert (await storage.blobs.stat("app", world.l1)).size == len(b"layer 1")
    assert await storage.manifests.list_digests("other/repo") == []
    assert "deleted" in report.summary()
    # A second run finds nothing left to do.
    again = await collect(storage, delete_untagged=True)
    assert again.deleted_blobs == [] and again.deleted_manifests == []


async def test_shared_blob_across_repositories(storage: Storage) -> None:
    shared = await blob(storage, "a", b"shared")
    await storage.blobs.mount("a", "b", shared)
    m, _ = await image(storage, "b", "b", shared)
    await storage.tags.tag("b", "latest", m)
    report = await collect(storage, delete_untagged=True)
    assert shared not in report.deleted_blobs
    assert (await storage.blobs.stat("a", shared)).size == len(b"shared")


async def test_revision_with_missing_blob_is_skipped(storage: Storage) -> None:
    m, config = await image(storage, "app", "x")
    await storage.tags.tag("app", "latest", m)
    await storage.driver.delete(path_for(BlobDataPath(m)))
    report = await collect(storage, delete_untagged=True)
    # The manifest cannot be read, so what it referenced is unreachable.
    assert config in report.deleted_blobs


async def test_schema1_fslayers_are_kept(storage: Storage) -> None:
    layer = await blob(storage, "old", b"schema1 layer")
    m = await manifest(storage, "old", {"schemaVersion": 1, "fsLayers": [{"blobSum": str(layer)}]})
    await storage.tags.tag("old", "latest", m)
    report = await collect(storage, delete_untagged=True)
    assert report.deleted_blobs == []


@pytest.mark.parametrize(
    ("content", "blobs", "children"),
    [
        (b"not json", set(), set()),
        (b"[1, 2]", set(), set()),
        (b'{"layers": "nope", "config": 3}', set(), set()),
        (b'{"layers": [{"digest": "sha256:bad"}]}', set(), set()),
        (
            json.dumps(
                {
                    "config": {"digest": str(Digest.of_bytes(b"c"))},
                    "layers": [{"digest": str(Digest.of_bytes(b"l"))}],
                    "blobs": [{"digest": str(Digest.of_bytes(b"b"))}],
                    "subject": {"digest": str(Digest.of_bytes(b"s"))},
                    "manifests": [{"digest": str(Digest.of_bytes(b"m"))}],
                }
            ).encode(),
            {Digest.of_bytes(b"c"), Digest.of_bytes(b"l"), Digest.of_bytes(b"b")},
            {Digest.of_bytes(b"m")},
        ),
    ],
)
def test_referenced_digests(content: bytes, blobs: set[Digest], children: set[Digest]) -> None:
    assert referenced_digests(content) == (blobs, children)
