"""A bad-input battery for every registry endpoint: each case gets its spec error in the JSON
envelope with a 4xx status, and the storage tree is byte-for-byte what it was before.

The registry holds one pushed image and one upload in progress; each case is sent, then every
file under the storage root is compared (path and SHA-256) with the snapshot taken before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pytest
from multidict import CIMultiDict

from tests.registry.api_support import (
    OCI_MANIFEST,
    Client,
    ClientFactory,
    error_codes,
    push_image,
    registry_config,
)

UNKNOWN_ALG = "md5:d41d8cd98f00b204e9800998ecf8427e"
BAD_HEX = "sha256:" + "z" * 64
SHORT = "sha256:abc"


@dataclass(frozen=True)
class Case:
    """One bad request; ``{upload}`` in the path stands for the upload in progress."""

    id: str
    method: str
    path: str
    codes: set[str]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    query: dict[str, str] = field(default_factory=dict)


CASES = [
    # Repository names: path tricks and grammar. HTTP clients resolve dot segments before they
    # send (RFC 3986 §5.2.4), so "team/../app" reaches the server as "app": unknown, not served.
    *(
        Case(
            f"name-{n}",
            "GET",
            f"/v2/{name}/tags/list",
            {"NAME_INVALID", "UNSUPPORTED"} | extra,
        )
        for n, name, extra in [
            ("upper-case", "Team/App", set()),
            ("double-slash", "team//app", set()),
            ("dotdot", "team/../app", {"NAME_UNKNOWN"}),
            ("encoded-dotdot", "team/%2e%2e/app", {"NAME_UNKNOWN"}),
            ("trailing-dash", "team/app-", set()),
            ("too-long", "a" * 256, set()),
        ]
    ),
    # Digests: unknown algorithms, bad hex, wrong length.
    Case(
        "blob-unknown-alg",
        "GET",
        f"/v2/team/app/blobs/{UNKNOWN_ALG}",
        {"DIGEST_INVALID", "UNSUPPORTED"},
    ),
    Case("blob-bad-hex", "GET", f"/v2/team/app/blobs/{BAD_HEX}", {"DIGEST_INVALID", "UNSUPPORTED"}),
    Case("blob-short", "GET", f"/v2/team/app/blobs/{SHORT}", {"DIGEST_INVALID", "UNSUPPORTED"}),
    Case(
        "blob-delete-bad",
        "DELETE",
        f"/v2/team/app/blobs/{BAD_HEX}",
        {"DIGEST_INVALID", "UNSUPPORTED"},
    ),
    Case(
        "manifest-unknown-alg",
        "GET",
        f"/v2/team/app/manifests/{UNKNOWN_ALG}",
        {"DIGEST_INVALID", "MANIFEST_UNKNOWN", "TAG_INVALID", "UNSUPPORTED"},
    ),
    Case(
        "manifest-bad-tag",
        "PUT",
        "/v2/team/app/manifests/-bad",
        {"TAG_INVALID", "UNSUPPORTED"},
        headers={"Content-Type": OCI_MANIFEST},
        body=b"{}",
    ),
    # Manifests: invalid JSON, wrong shapes, wrong digests.
    Case(
        "manifest-not-json",
        "PUT",
        "/v2/team/app/manifests/v2",
        {"MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b"{not json",
    ),
    Case(
        "manifest-array",
        "PUT",
        "/v2/team/app/manifests/v2",
        {"MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b"[]",
    ),
    Case(
        "manifest-not-utf8",
        "PUT",
        "/v2/team/app/manifests/v2",
        {"MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b"\xff\xfe{}",
    ),
    Case(
        "manifest-schema1",
        "PUT",
        "/v2/team/app/manifests/v2",
        {"MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b'{"schemaVersion": 1}',
    ),
    Case(
        "manifest-digest-mismatch",
        "PUT",
        f"/v2/team/app/manifests/sha256:{'0' * 64}",
        {"DIGEST_INVALID", "MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b'{"schemaVersion": 2}',
    ),
    Case(
        "manifest-missing-blob",
        "PUT",
        "/v2/team/app/manifests/v2",
        {"MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID"},
        400,
        {"Content-Type": OCI_MANIFEST},
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'
        + b"1" * 64
        + b'","size":2},"layers":[]}',
    ),
    # Uploads: bad digests, bad mounts, wrong ranges and lengths, unknown sessions.
    Case(
        "upload-bad-digest",
        "POST",
        "/v2/team/app/blobs/uploads/",
        {"DIGEST_INVALID"},
        400,
        query={"digest": BAD_HEX},
        body=b"x",
    ),
    Case(
        "upload-digest-mismatch",
        "POST",
        "/v2/team/app/blobs/uploads/",
        {"DIGEST_INVALID"},
        400,
        query={"digest": "sha256:" + "0" * 64},
        body=b"x",
    ),
    Case(
        "patch-wrong-range",
        "PATCH",
        "{upload}",
        {"RANGE_INVALID", "BLOB_UPLOAD_INVALID"},
        416,
        {"Content-Range": "100-101"},
        b"xy",
    ),
    Case(
        "patch-malformed-range",
        "PATCH",
        "{upload}",
        {"RANGE_INVALID", "BLOB_UPLOAD_INVALID"},
        None,
        {"Content-Range": "bytes=a-b"},
        b"xy",
    ),
    Case(
        "patch-range-length-mismatch",
        "PATCH",
        "{upload}",
        {"RANGE_INVALID", "BLOB_UPLOAD_INVALID", "SIZE_INVALID"},
        None,
        {"Content-Range": "0-9"},
        b"xy",
    ),
    Case(
        "put-upload-bad-digest",
        "PUT",
        "{upload}",
        {"DIGEST_INVALID"},
        400,
        query={"digest": UNKNOWN_ALG},
    ),
    Case("put-upload-no-digest", "PUT", "{upload}", {"DIGEST_INVALID"}, 400),
    Case(
        "upload-unknown-session",
        "GET",
        "/v2/team/app/blobs/uploads/not-a-uuid",
        {"BLOB_UPLOAD_UNKNOWN"},
        404,
    ),
    Case(
        "upload-forged-state",
        "PATCH",
        "/v2/team/app/blobs/uploads/0b6b1f0e-8c1e-4b8e-9a3a-6d1e1c0c0c0c",
        {"BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"},
        None,
        {"Content-Range": "0-1"},
        b"xy",
        {"_state": "forged"},
    ),
    # Pagination and listings.
    Case(
        "tags-bad-n",
        "GET",
        "/v2/team/app/tags/list",
        {"PAGINATION_NUMBER_INVALID"},
        400,
        query={"n": "-1"},
    ),
    Case(
        "tags-n-not-a-number",
        "GET",
        "/v2/team/app/tags/list",
        {"PAGINATION_NUMBER_INVALID"},
        400,
        query={"n": "ten"},
    ),
    Case(
        "catalog-bad-n",
        "GET",
        "/v2/_catalog",
        {"PAGINATION_NUMBER_INVALID"},
        400,
        query={"n": "1e9"},
    ),
    Case("tags-unknown-repo", "GET", "/v2/team/nothing/tags/list", {"NAME_UNKNOWN"}, 404),
    # Unknown endpoints and methods.
    Case("unknown-endpoint", "GET", "/v2/team/app/nothing", {"UNSUPPORTED"}, 404),
    Case("wrong-method", "POST", "/v2/team/app/tags/list", {"UNSUPPORTED"}, 405),
]


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
async def prepared(make_client: ClientFactory, tmp_path: Path) -> tuple[Client, Path, str, str]:
    root = tmp_path / "root"
    client = await make_client(registry_config(root))
    image = await push_image(client, "team/app", "v1")
    resp = await client.post("/v2/team/app/blobs/uploads/")
    assert resp.status == 202
    return client, root, image.digest, resp.headers["Location"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_gets_its_error_and_changes_nothing(
    prepared: tuple[Client, Path, str, str], case: Case
) -> None:
    client, root, digest, upload = prepared
    before = snapshot(root)
    path = case.path.replace("{upload}", upload.split("?")[0]).replace("{digest}", digest)
    query = CIMultiDict(case.query)
    if case.path == "{upload}" and "?" in upload:
        # Keep the upload's signed state, add the case's own parameters.
        for part in upload.split("?", 1)[1].split("&"):
            key, _, value = part.partition("=")
            query.add(key, unquote(value))
    resp = await client.request(
        case.method, path, params=query, headers=case.headers, data=case.body
    )
    assert 400 <= resp.status < 500, (resp.status, await resp.text())
    if case.status is not None:
        assert resp.status == case.status, await resp.text()
    codes = await error_codes(resp)
    assert set(codes) <= case.codes, codes
    assert snapshot(root) == before
