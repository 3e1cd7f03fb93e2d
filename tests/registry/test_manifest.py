"""Table tests for the pure manifest parser (registry.manifest)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.digest import Digest
from registry.manifest import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    SCHEMA1_SIGNED_MANIFEST,
    ManifestError,
    accepts,
    normalize_content_type,
    parse_manifest,
    sniff_media_type,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def desc(media_type: str, digest: str = D1, size: object = 10, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def oci_manifest(**extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", D1),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", D2)],
        **extra,
    }


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def test_oci_manifest() -> None:
    manifest = parse_manifest(encode(oci_manifest()), OCI_MANIFEST)
    assert manifest.media_type == OCI_MANIFEST
    assert [d.digest for d in manifest.blob_references()] == [Digest.parse(D1), Digest.parse(D2)]
    assert manifest.manifest_references() == []
    assert manifest.subject is None
    assert manifest.referrer_artifact_type == "application/vnd.oci.image.config.v1+json"


def test_docker_schema2() -> None:
    doc = oci_manifest(mediaType=DOCKER_MANIFEST)
    manifest = parse_manifest(encode(doc), DOCKER_MANIFEST + "; charset=utf-8")
    assert manifest.media_type == DOCKER_MANIFEST


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_MANIFEST_LIST])
def test_indexes(media_type: str) -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            desc(OCI_MANIFEST, D1, platform={"architecture": "amd64", "os": "linux"}),
            desc(OCI_MANIFEST, D2),
        ],
    }
    manifest = parse_manifest(encode(doc), media_type)
    assert [d.digest for d in manifest.manifest_references()] == [
        Digest.parse(D1),
        Digest.parse(D2),
    ]
    assert manifest.blob_references() == []


def test_artifact_with_subject_and_artifact_type() -> None:
    doc = oci_manifest(
        artifactType="application/vnd.example.sbom",
        subject=desc(OCI_MANIFEST, D3),
        annotations={"a": "b"},
    )
    manifest = parse_manifest(encode(doc), OCI_MANIFEST)
    assert manifest.subject is not None and manifest.subject.digest == Digest.parse(D3)
    assert manifest.referrer_artifact_type == "application/vnd.example.sbom"
    assert manifest.annotations == {"a": "b"}


def test_index_artifact_type() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.example.bundle",
        "manifests": [],
        "subject": desc(OCI_MANIFEST, D3),
    }
    manifest = parse_manifest(encode(doc), OCI_INDEX)
    assert manifest.referrer_artifact_type == "application/vnd.example.bundle"


def test_foreign_layers_with_urls_are_not_required() -> None:
    doc = oci_manifest(mediaType=DOCKER_MANIFEST)
    doc["layers"].append(
        desc(
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            D3,
            urls=["https://example.com/layer"],
        )
    )
    manifest = parse_manifest(encode(doc), DOCKER_MANIFEST)
    assert Digest.parse(D3) not in {d.digest for d in manifest.blob_references()}


@pytest.mark.parametrize(
    ("content_type", "doc", "media_type"),
    [
        (None, oci_manifest(), OCI_MANIFEST),
        (
            "application/json",
            {k: v for k, v in oci_manifest().items() if k != "mediaType"},
            OCI_MANIFEST,
        ),
        ("", {"schemaVersion": 2, "manifests": []}, OCI_INDEX),
        (OCI_MANIFEST, {k: v for k, v in oci_manifest().items() if k != "mediaType"}, OCI_MANIFEST),
        ("APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON", oci_manifest(), OCI_MANIFEST),
    ],
)
def test_media_type_resolution(content_type: str | None, doc: Any, media_type: str) -> None:
    assert parse_manifest(encode(doc), content_type).media_type == media_type


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (SCHEMA1_SIGNED_MANIFEST, encode({"schemaVersion": 1}), "schema 1 is not supported"),
        (None, encode({"schemaVersion": 1, "fsLayers": []}), "schema 1 is not supported"),
        (OCI_MANIFEST, encode(oci_manifest(mediaType=SCHEMA1_SIGNED_MANIFEST)), "schema 1"),
        (OCI_MANIFEST, b"\xff\xfe", "not UTF-8"),
        (OCI_MANIFEST, b"{", "not valid JSON"),
        (OCI_MANIFEST, b"[]", "JSON object"),
        (OCI_MANIFEST, encode(oci_manifest(schemaVersion=3)), "schemaVersion must be 2"),
        (OCI_MANIFEST, encode(oci_manifest(schemaVersion=True)), "schemaVersion"),
        (OCI_MANIFEST, encode(oci_manifest(mediaType=OCI_INDEX)), "does not match"),
        (OCI_MANIFEST, encode(oci_manifest(mediaType=7)), "mediaType must be a string"),
        (
            DOCKER_MANIFEST,
            encode({k: v for k, v in oci_manifest().items() if k != "mediaType"}),
            "mediaType is required",
        ),
        ("text/plain", encode(oci_manifest()), "unsupported manifest media type"),
        (None, encode({"schemaVersion": 2, "mediaType": "application/x-other"}), "unsupported"),
        (None, encode({"schemaVersion": 2}), "cannot tell"),
        (OCI_MANIFEST, encode(oci_manifest(manifests=[])), "is it an index"),
        (
            OCI_INDEX,
            encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "config": {}, "manifests": []}),
            "is it a manifest",
        ),
        (
            OCI_MANIFEST,
            encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}),
            "config is required",
        ),
        (OCI_MANIFEST, encode(oci_manifest(layers={})), "layers must be a list"),
        (OCI_MANIFEST, encode(oci_manifest(config="x")), "config must be a descriptor"),
        (OCI_MANIFEST, encode(oci_manifest(config={"digest": D1, "size": 1})), "config.mediaType"),
        (OCI_MANIFEST, encode(oci_manifest(config=desc("a/b", "sha256:xyz"))), "config.digest"),
        (
            OCI_MANIFEST,
            encode(oci_manifest(config=desc("a/b", "md5:" + "0" * 32))),
            "config.digest",
        ),
        (
            OCI_MANIFEST,
            encode(oci_manifest(config={"mediaType": "a/b", "size": 1})),
            "config.digest must be a string",
        ),
        (OCI_MANIFEST, encode(oci_manifest(config=desc("a/b", size=-1))), "config.size"),
        (OCI_MANIFEST, encode(oci_manifest(config=desc("a/b", size="10"))), "config.size"),
        (OCI_MANIFEST, encode(oci_manifest(layers=[desc("a/b", urls="x")])), "layers[0].urls"),
        (OCI_MANIFEST, encode(oci_manifest(annotations={"a": 1})), "annotations"),
        (OCI_MANIFEST, encode(oci_manifest(artifactType="")), "artifactType"),
        (OCI_MANIFEST, encode(oci_manifest(subject="sha256:x")), "subject"),
        (
            OCI_INDEX,
            encode(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"digest": D1, "size": 1}],
                }
            ),
            "manifests[0].mediaType",
        ),
    ],
)
def test_invalid_manifests(content_type: str | None, body: bytes, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(body, content_type)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("body", "media_type"),
    [
        (encode(oci_manifest()), OCI_MANIFEST),
        (encode({"schemaVersion": 2, "manifests": []}), OCI_INDEX),
        (encode({"schemaVersion": 2, "config": {}}), OCI_MANIFEST),
        (encode({"schemaVersion": 1, "signatures": []}), SCHEMA1_SIGNED_MANIFEST),
        (encode({"schemaVersion": 1}), "application/vnd.docker.distribution.manifest.v1+json"),
        (b"[1]", "application/json"),
        (b"garbage", "application/octet-stream"),
    ],
)
def test_sniff_media_type(body: bytes, media_type: str) -> None:
    assert sniff_media_type(body) == media_type


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        ([], True),
        ([""], True),
        ([OCI_MANIFEST], True),
        ([DOCKER_MANIFEST], False),
        ([f"{DOCKER_MANIFEST}, {OCI_MANIFEST}; q=0.9"], True),
        ([DOCKER_MANIFEST, OCI_MANIFEST], True),
        (["*/*"], True),
        (["application/*"], True),
        (["text/html"], False),
    ],
)
def test_accepts(accept: list[str], ok: bool) -> None:
    assert accepts(OCI_MANIFEST, accept) is ok


def test_normalize_content_type() -> None:
    assert normalize_content_type(" Application/JSON ; charset=utf-8") == "application/json"
    assert normalize_content_type(None) == ""
