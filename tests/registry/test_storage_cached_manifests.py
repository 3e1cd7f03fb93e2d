"""CachedManifestStore: read-your-writes, reads racing writes, and the bound on staleness."""

from __future__ import annotations

import asyncio

import pytest

from registry.digest import Digest
from registry.storage import (
    CachedManifestStore,
    ManifestStore,
    ManifestUnknown,
    RepositoryUnknown,
    Storage,
    TagStore,
    TagUnknown,
)
from registry.storage.cached_manifests import DEFAULT_TTL, ENTRY_OVERHEAD
from tests.registry.fakes import FakeClock

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def manifest(n: int) -> tuple[bytes, Digest]:
    """Distinct manifest bytes and their digest."""
    body = f'{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","annotations":{{"n":"{n}"}}}}'
    return body.encode(), Digest.of_bytes(body.encode())


class GatedTags(TagStore):
    """A TagStore whose resolve can be held after reading, to interleave a write with it."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage.driver)
        self.hold = False
        self.reading = asyncio.Event()
        self.release = asyncio.Event()

    async def resolve(self, name: str, tag: str) -> Digest:
        digest = await super().resolve(name, tag)
        if self.hold:
            self.reading.set()
            await self.release.wait()
        return digest


def cached_store(
    storage: Storage, clock: FakeClock, tags: TagStore | None = None
) -> CachedManifestStore:
    """A second cached store over the storage root, as another registry process would have."""
    tags = tags or TagStore(storage.driver)
    return CachedManifestStore(
        ManifestStore(storage.driver, storage.blobs, tags), tags, clock=clock
    )


async def test_lookup_by_tag_and_digest_is_cached(storage: Storage, clock: FakeClock) -> None:
    store = cached_store(storage, clock)
    body, digest = manifest(1)
    await store.put("repo", body, digest)
    await store.tag("repo", "v1", digest)
    by_tag = await store.lookup("repo", "v1")
    by_digest = await store.lookup("repo", digest)
    assert (by_tag.digest, by_tag.content) == (digest, body)
    assert by_digest == by_tag
    assert by_tag.info.media_type == OCI_MANIFEST
    assert ("repo", "v1") in store.lookups and ("repo", str(digest)) in store.lookups
    assert store.lookups.weight == 2 * (len(body) + ENTRY_OVERHEAD)


async def test_read_your_writes(storage: Storage, clock: FakeClock) -> None:
    store = cached_store(storage, clock)
    (b1, d1), (b2, d2) = manifest(1), manifest(2)
    await store.put("repo", b1, d1)
    await store.tag("repo", "latest", d1)
    assert (await store.lookup("repo", "latest")).digest == d1

    # put: the repository's lookups are dropped, other repositories' are kept.
    await store.put("other", b1, d1)
    await store.tag("other", "latest", d1)
    await store.lookup("other", "latest")
    await store.put("repo", b2, d2)
    assert ("repo", "latest") not in store.lookups
    assert ("other", "latest") in store.lookups

    # tag: the moved tag is seen at once, without waiting for the TTL.
    assert (await store.lookup("repo", "latest")).digest == d1
    await store.tag("repo", "latest", d2)
    assert (await store.lookup("repo", "latest")).digest == d2

    # untag: gone at once.
    await store.untag("repo", "latest")
    with pytest.raises(TagUnknown):
        await store.lookup("repo", "latest")

    # delete: a revision looked up by digest is gone at once.
    assert (await store.lookup("repo", d1)).content == b1
    await store.delete("repo", d1)
    with pytest.raises(ManifestUnknown):
        await store.lookup("repo", d1)


async def test_failed_write_still_drops_the_repository(storage: Storage, clock: FakeClock) -> None:
    store = cached_store(storage, clock)
    body, digest = manifest(1)
    await store.put("repo", body, digest)
    await store.tag("repo", "v1", digest)
    await store.lookup("repo", "v1")
    with pytest.raises(TagUnknown):
        await store.untag("repo", "nope")
    assert len(store.lookups) == 0


async def test_unknown_references_are_not_cached(storage: Storage, clock: FakeClock) -> None:
    store = cached_store(storage, clock)
    with pytest.raises(RepositoryUnknown):
        await store.lookup("repo", "v1")
    body, digest = manifest(1)
    with pytest.raises(ManifestUnknown):
        await store.lookup("repo", digest)
    assert len(store.lookups) == 0
    await storage.manifests.put("repo", body, digest)  # another store: no invalidation here
    assert (await store.lookup("repo", digest)).content == body


async def test_a_read_racing_a_write_is_not_cached(storage: Storage, clock: FakeClock) -> None:
    tags = GatedTags(storage)
    store = cached_store(storage, clock, tags)
    (b1, d1), (b2, d2) = manifest(1), manifest(2)
    await store.put("repo", b1, d1)
    await store.put("repo", b2, d2)
    await store.tag("repo", "latest", d1)

    tags.hold = True
    racing = asyncio.create_task(store.lookup("repo", "latest"))
    await asyncio.wait_for(tags.reading.wait(), timeout=10)
    await store.tag("repo", "latest", d2)  # lands while the read holds the old digest
    tags.hold = False
    tags.release.set()
    assert (await racing).digest == d1  # the racing caller gets what it read...
    assert ("repo", "latest") not in store.lookups  # ...but it is not kept
    assert (await store.lookup("repo", "latest")).digest == d2


async def test_concurrent_lookups_share_one_read(storage: Storage, clock: FakeClock) -> None:
    tags = GatedTags(storage)
    store = cached_store(storage, clock, tags)
    body, digest = manifest(1)
    await store.put("repo", body, digest)
    await store.tag("repo", "v1", digest)
    tags.hold = True
    first = asyncio.create_task(store.lookup("repo", "v1"))
    await asyncio.wait_for(tags.reading.wait(), timeout=10)
    second = asyncio.create_task(store.lookup("repo", "v1"))
    await asyncio.sleep(0)
    assert store.lookups.in_flight == 1
    tags.release.set()
    assert await first == await second


async def test_other_process_writes_show_within_the_ttl(storage: Storage, clock: FakeClock) -> None:
    ours = cached_store(storage, clock)
    theirs = storage.manifests  # another process on the same root
    (b1, d1), (b2, d2) = manifest(1), manifest(2)
    await theirs.put("repo", b1, d1)
    await theirs.put("repo", b2, d2)
    await theirs.tag("repo", "latest", d1)
    assert (await ours.lookup("repo", "latest")).digest == d1

    await theirs.tag("repo", "latest", d2)
    clock.now += DEFAULT_TTL - 0.001
    assert (await ours.lookup("repo", "latest")).digest == d1  # stale, within the bound
    clock.now += 0.001
    assert (await ours.lookup("repo", "latest")).digest == d2

    await theirs.delete("repo", d2)
    clock.now += DEFAULT_TTL
    with pytest.raises(TagUnknown):
        await ours.lookup("repo", "latest")


async def test_lookups_are_bounded_by_manifest_bytes(storage: Storage, clock: FakeClock) -> None:
    tags = TagStore(storage.driver)
    store = CachedManifestStore(
        ManifestStore(storage.driver, storage.blobs, tags),
        tags,
        max_bytes=3 * (100 + ENTRY_OVERHEAD),
        clock=clock,
    )
    digests = []
    for n in range(5):
        body, digest = manifest(n)
        await store.put("repo", body, digest)
        digests.append(digest)
    for digest in digests:
        await store.lookup("repo", digest)
        assert store.lookups.weight <= 3 * (100 + ENTRY_OVERHEAD)
    assert ("repo", str(digests[-1])) in store.lookups
    assert ("repo", str(digests[0])) not in store.lookups


async def test_infos_are_cached_by_digest_across_writes(storage: Storage, clock: FakeClock) -> None:
    store = cached_store(storage, clock)
    body, digest = manifest(1)
    await store.put("repo", body, digest)
    info = store.infos.get(digest)
    assert info is not None and info.size == len(body)  # warmed by the push
    await store.delete("repo", digest)
    assert store.infos.get(digest) is info  # content-addressed: never stale
    assert await store.info("repo", digest) is info
    other_body, other = manifest(2)
    await storage.manifests.put("repo", other_body, other)
    assert (await store.info("repo", other)).size == len(other_body)
    with pytest.raises(ManifestUnknown):
        await store.info("repo", Digest.of_bytes(b"never pushed"))
