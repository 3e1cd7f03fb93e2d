"""Table tests for registry.storage.paths: every path spec maps to Distribution's layout."""

from __future__ import annotations

import typing

import pytest

from registry.digest import Digest
from registry.storage import paths as p
from registry.storage.driver import check_path

HEX = "ab" + "c" * 62
D = Digest("sha256", HEX)
D512 = Digest("sha512", "ef" * 64)
R = "/docker/registry/v2/repositories"
UID = "0b8e4c2e-6e51-4d5f-9b7e-3f1f6c1a2b3c"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (p.RepositoriesRootPath(), R),
        (p.RepositoryPath("foo/bar"), f"{R}/foo/bar"),
        (p.BlobsRootPath(), "/docker/registry/v2/blobs"),
        (p.BlobPath(D), f"/docker/registry/v2/blobs/sha256/ab/{HEX}"),
        (p.BlobDataPath(D), f"/docker/registry/v2/blobs/sha256/ab/{HEX}/data"),
        (p.BlobDataPath(D512), f"/docker/registry/v2/blobs/sha512/ef/{'ef' * 64}/data"),
        (p.LayersPath("foo"), f"{R}/foo/_layers"),
        (p.LayerPath("foo", D), f"{R}/foo/_layers/sha256/{HEX}"),
        (p.LayerLinkPath("foo/bar", D), f"{R}/foo/bar/_layers/sha256/{HEX}/link"),
        (p.ManifestsPath("foo"), f"{R}/foo/_manifests"),
        (p.ManifestRevisionsPath("foo"), f"{R}/foo/_manifests/revisions"),
        (p.ManifestRevisionPath("foo", D), f"{R}/foo/_manifests/revisions/sha256/{HEX}"),
        (
            p.ManifestRevisionLinkPath("foo", D),
            f"{R}/foo/_manifests/revisions/sha256/{HEX}/link",
        ),
        (p.TagsPath("foo"), f"{R}/foo/_manifests/tags"),
        (p.TagPath("foo", "v1.0"), f"{R}/foo/_manifests/tags/v1.0"),
        (p.TagCurrentLinkPath("foo", "latest"), f"{R}/foo/_manifests/tags/latest/current/link"),
        (p.TagIndexPath("foo", "latest"), f"{R}/foo/_manifests/tags/latest/index"),
        (
            p.TagIndexEntryPath("foo", "latest", D),
            f"{R}/foo/_manifests/tags/latest/index/sha256/{HEX}",
        ),
        (
            p.TagIndexEntryLinkPath("foo", "latest", D),
            f"{R}/foo/_manifests/tags/latest/index/sha256/{HEX}/link",
        ),
        (p.UploadsPath("foo"), f"{R}/foo/_uploads"),
        (p.UploadPath("foo", UID), f"{R}/foo/_uploads/{UID}"),
        (p.UploadDataPath("foo", UID), f"{R}/foo/_uploads/{UID}/data"),
        (p.UploadStartedAtPath("foo", UID), f"{R}/foo/_uploads/{UID}/startedat"),
    ],
)
def test_path_for(spec: p.PathSpec, expected: str) -> None:
    path = p.path_for(spec)
    assert path == expected
    # Every mapped path is a valid driver path.
    assert check_path(path) == path


def test_every_spec_is_covered() -> None:
    covered = {
        "RepositoriesRootPath", "RepositoryPath", "BlobsRootPath", "BlobPath", "BlobDataPath",
        "LayersPath", "LayerPath", "LayerLinkPath", "ManifestsPath", "ManifestRevisionsPath",
        "ManifestRevisionPath", "ManifestRevisionLinkPath", "TagsPath", "TagPath",
        "TagCurrentLinkPath", "TagIndexPath", "TagIndexEntryPath", "TagIndexEntryLinkPath",
        "UploadsPath", "UploadPath", "UploadDataPath", "UploadStartedAtPath",
    }  # fmt: skip
    assert {t.__name__ for t in typing.get_args(p.PathSpec)} == covered


@pytest.mark.parametrize(
    "build",
    [
        lambda: p.RepositoryPath("../etc"),
        lambda: p.LayerLinkPath("a//b", D),
        lambda: p.ManifestsPath("Foo"),
        lambda: p.TagsPath("%2e%2e"),
        lambda: p.TagPath("foo", "../x"),
        lambda: p.TagCurrentLinkPath("foo", ".."),
        lambda: p.TagIndexEntryLinkPath("foo", "a/b", D),
        lambda: p.UploadPath("foo", ".."),
        lambda: p.UploadDataPath("foo", "../../blobs"),
        lambda: p.UploadStartedAtPath("foo", ""),
        lambda: p.UploadPath("foo", "a/b"),
    ],
)
def test_specs_reject_path_tricks(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{R}/foo/_layers/sha256/{HEX}/link", D),
        (f"{R}/foo/_manifests/tags/x/index/sha256/{HEX}/link", D),
        (f"{R}/foo/_layers/sha256/{HEX}/data", None),
        (f"{R}/foo/_layers/sha256/{HEX[:-1]}/link", None),
        ("link", None),
    ],
)
def test_parse_link_path(path: str, expected: Digest | None) -> None:
    assert p.parse_link_path(path) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/docker/registry/v2/blobs/sha256/ab/{HEX}/data", D),
        (f"/docker/registry/v2/blobs/sha256/cd/{HEX}/data", None),  # wrong prefix directory
        (f"/docker/registry/v2/blobs/sha256/ab/{HEX}/.tmp-123", None),
        (f"/docker/registry/v2/blobs/sha256/ab/{HEX}", None),
        (f"/elsewhere/blobs/sha256/ab/{HEX}/data", None),
    ],
)
def test_parse_blob_data_path(path: str, expected: Digest | None) -> None:
    assert p.parse_blob_data_path(path) == expected
