"""Manifest revisions, tags and the catalog over every driver, through the Storage facade."""

from __future__ import annotations

import asyncio

import pytest

from registry.digest import Digest
from registry.storage import DigestMismatch, ManifestUnknown, RepositoryUnknown, Storage, TagUnknown
from registry.storage.paths import TagCurrentLinkPath, TagIndexEntryLinkPath, path_for
from tests.registry.storage_support import chunks, push_blob

# Manifests and tags

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'


async def test_manifest_put_get(storage: Storage) -> None:
    digest = Digest.of_bytes(MANIFEST)
    await storage.manifests.put("foo", MANIFEST, digest)
    assert await storage.manifests.get("foo", digest) == MANIFEST
    assert await storage.manifests.exists("foo", digest)
    assert not await storage.manifests.exists("bar", digest)
    with pytest.raises(ManifestUnknown):
        await storage.manifests.get("bar", digest)
    assert await storage.manifests.list_digests("foo") == [digest]
    assert await storage.manifests.list_digests("bar") == []


async def test_manifest_put_checks_digest(storage: Storage) -> None:
    with pytest.raises(DigestMismatch):
        await storage.manifests.put("foo", MANIFEST, Digest.of_bytes(b"other"))
    assert await storage.manifests.list_digests("foo") == []


async def test_tags(storage: Storage) -> None:
    d1, d2 = Digest.of_bytes(b"m1"), Digest.of_bytes(b"m2")
    await storage.manifests.put("foo", b"m1", d1)
    await storage.manifests.put("foo", b"m2", d2)
    for tag in ["v2", "latest", "v1", "a"]:
        await storage.tags.tag("foo", tag, d1)
    await storage.tags.tag("foo", "latest", d2)
    assert await storage.tags.resolve("foo", "latest") == d2
    assert await storage.tags.resolve("foo", "v1") == d1
    assert await storage.tags.list("foo") == ["a", "latest", "v1", "v2"]
    assert await storage.tags.list("foo", n=2) == ["a", "latest"]
    assert await storage.tags.list("foo", last="latest", n=1) == ["v1"]
    assert await storage.tags.list("foo", last="v2") == []
    assert await storage.tags.lookup("foo", d1) == ["a", "v1", "v2"]
    # Distribution keeps every revision a tag pointed at in its index.
    for d in (d1, d2):
        link = path_for(TagIndexEntryLinkPath("foo", "latest", d))
        assert await storage.driver.get_content(link) == str(d).encode()


async def test_tag_errors(storage: Storage) -> None:
    with pytest.raises(RepositoryUnknown):
        await storage.tags.resolve("nothing", "latest")
    with pytest.raises(RepositoryUnknown):
        await storage.tags.list("nothing")
    digest = Digest.of_bytes(b"m")
    await storage.manifests.put("foo", b"m", digest)
    assert await storage.tags.list("foo") == []
    with pytest.raises(TagUnknown):
        await storage.tags.resolve("foo", "latest")
    with pytest.raises(TagUnknown):
        await storage.tags.resolve("foo", "../../x")
    with pytest.raises(TagUnknown):
        await storage.tags.untag("foo", "latest")


async def test_concurrent_tag_puts_leave_one_consistent_tag(storage: Storage) -> None:
    digests = [Digest.of_bytes(f"m{i}".encode()) for i in range(16)]
    for i, d in enumerate(digests):
        await storage.manifests.put("foo", f"m{i}".encode(), d)
    await asyncio.gather(*(storage.tags.tag("foo", "latest", d) for d in digests))
    current = await storage.tags.resolve("foo", "latest")
    assert current in digests
    raw = await storage.driver.get_content(path_for(TagCurrentLinkPath("foo", "latest")))
    assert raw == str(current).encode()
    assert await storage.manifests.get("foo", current) in [f"m{i}".encode() for i in range(16)]
    assert await storage.tags.list("foo") == ["latest"]


async def test_manifest_delete_removes_its_tags(storage: Storage) -> None:
    d1, d2 = Digest.of_bytes(b"m1"), Digest.of_bytes(b"m2")
    await storage.manifests.put("foo", b"m1", d1)
    await storage.manifests.put("foo", b"m2", d2)
    await storage.tags.tag("foo", "one", d1)
    await storage.tags.tag("foo", "also-one", d1)
    await storage.tags.tag("foo", "two", d2)
    await storage.manifests.delete("foo", d1)
    assert await storage.tags.list("foo") == ["two"]
    with pytest.raises(ManifestUnknown):
        await storage.manifests.get("foo", d1)
    with pytest.raises(ManifestUnknown):
        await storage.manifests.delete("foo", d1)
    assert await storage.manifests.list_digests("foo") == [d2]
    await storage.tags.untag("foo", "two")
    assert await storage.tags.list("foo") == []
    assert await storage.manifests.get("foo", d2) == b"m2"


async def test_repositories_catalog_order_and_pagination(storage: Storage) -> None:
    digest = Digest.of_bytes(b"m")
    for name in ["b", "a/b", "a", "a-b", "a/0", "c/d/e"]:
        await storage.manifests.put(name, b"m", digest)
    await push_blob(storage, "only/blobs", b"layer")  # no _manifests: not in the catalog
    expected = ["a", "a/0", "a/b", "a-b", "b", "c/d/e"]
    assert await storage.repositories() == expected
    assert await storage.repositories(n=2) == ["a", "a/0"]
    assert await storage.repositories(last="a/b", n=2) == ["a-b", "b"]
    assert await storage.repositories(last="c/d/e") == []
    assert await storage.repositories(n=0) == []


async def test_crash_leftovers_stay_invisible(storage: Storage) -> None:
    digest = Digest.of_bytes(b"m")
    await storage.manifests.put("foo", b"m", digest)
    await storage.tags.tag("foo", "latest", digest)
    # A crash between mkdir and rename leaves a temp file and a tag directory with no link.
    tags_dir = path_for(TagCurrentLinkPath("foo", "latest")).rsplit("/", 3)[0]
    await storage.driver.put_content(f"{tags_dir}/.tmp-1/current/link", b"sha256:junk")
    await storage.driver.put_content(f"{tags_dir}/half/index/.tmp-2", b"")
    # An upload that never finished is not a blob.
    state = await storage.uploads.create("foo")
    await storage.uploads.append("foo", state.id, chunks(b"partial"))
    assert await storage.tags.list("foo") == ["latest"]
    assert await storage.repositories() == ["foo"]
    assert await storage.blobs.exists_global(Digest.of_bytes(b"partial")) is None


async def test_tags_with_long_histories_list_and_delete_by_current_link(storage: Storage) -> None:
    # A tag pushed again and again keeps one index entry per digest it named (Distribution's
    # layout); listing and delete-by-digest go by each tag's current link only.
    digests = []
    for i in range(30):
        content = f"m{i}".encode()
        digest = Digest.of_bytes(content)
        await storage.manifests.put("ci/app", content, digest)
        await storage.tags.tag("ci/app", "latest", digest)
        await storage.tags.tag("ci/app", f"build-{i:02}", digest)
        digests.append(digest)
    await storage.tags.tag("ci/app", "stable", digests[10])
    assert await storage.tags.list("ci/app", n=3) == ["build-00", "build-01", "build-02"]
    assert len(await storage.tags.all("ci/app")) == 32
    assert await storage.tags.lookup("ci/app", digests[10]) == ["build-10", "stable"]
    assert await storage.tags.lookup("ci/app", digests[-1]) == ["build-29", "latest"]
    assert await storage.tags.lookup("ci/app", digests[3]) == ["build-03"]
    # A digest that "latest" named once, but no longer does, takes only its own tags with it.
    assert sorted(await storage.manifests.delete("ci/app", digests[10])) == ["build-10", "stable"]
    assert await storage.tags.resolve("ci/app", "latest") == digests[-1]
    assert "stable" not in await storage.tags.all("ci/app")
    # A corrupt current link is not a tag.
    await storage.driver.put_content(path_for(TagCurrentLinkPath("ci/app", "build-05")), b"junk")
    assert "build-05" not in await storage.tags.all("ci/app")
