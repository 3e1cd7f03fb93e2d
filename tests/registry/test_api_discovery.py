"""OCI distribution spec "Content Discovery": tags (end-8a/8b), referrers (end-12a/12b), catalog."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.registry.api_support import (
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Client,
    error_codes,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)


async def push_tags(client: Client, name: str, tags: list[str]) -> None:
    image = await push_image(client, name, tags[0])
    for tag in tags[1:]:
        assert (await put_manifest(client, name, tag, image.manifest)).status == 201


async def test_list_tags(client: Client) -> None:
    await push_tags(client, "team/app", ["v2", "latest", "v1", "V0"])
    resp = await client.get("/v2/team/app/tags/list")
    assert resp.status == 200
    assert await resp.json() == {"name": "team/app", "tags": ["V0", "latest", "v1", "v2"]}
    assert "Link" not in resp.headers


async def test_list_tags_pagination_with_link(client: Client) -> None:
    await push_tags(client, "repo", ["a", "b", "c", "d", "e"])
    resp = await client.get("/v2/repo/tags/list?n=2")
    assert (await resp.json())["tags"] == ["a", "b"]
    assert resp.headers["Link"] == '</v2/repo/tags/list?n=2&last=b>; rel="next"'
    resp = await client.get("/v2/repo/tags/list?n=2&last=b")
    assert (await resp.json())["tags"] == ["c", "d"]
    resp = await client.get("/v2/repo/tags/list?n=2&last=d")
    assert (await resp.json())["tags"] == ["e"]
    assert "Link" not in resp.headers
    resp = await client.get("/v2/repo/tags/list?last=c")
    assert (await resp.json())["tags"] == ["d", "e"]
    resp = await client.get("/v2/repo/tags/list?n=0")
    assert (await resp.json())["tags"] == []
    resp = await client.get("/v2/repo/tags/list?n=5")
    assert (await resp.json())["tags"] == ["a", "b", "c", "d", "e"]
    assert "Link" not in resp.headers


async def test_follow_tag_links_to_the_end(client: Client) -> None:
    tags = [f"t{i:02d}" for i in range(7)]
    await push_tags(client, "repo", tags)
    seen: list[str] = []
    url: str | None = "/v2/repo/tags/list?n=3"
    while url:
        resp = await client.get(url)
        seen += (await resp.json())["tags"]
        link = resp.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == tags


@pytest.mark.parametrize("n", ["-1", "abc", "1.5"])
async def test_bad_page_size(client: Client, n: str) -> None:
    await push_tags(client, "repo", ["a"])
    resp = await client.get(f"/v2/repo/tags/list?n={n}")
    assert resp.status == 400
    assert await error_codes(resp) == ["PAGINATION_NUMBER_INVALID"]


async def test_tags_of_unknown_repository(client: Client) -> None:
    resp = await client.get("/v2/nothing/here/tags/list")
    assert resp.status == 404
    assert await error_codes(resp) == ["NAME_UNKNOWN"]


async def test_catalog_with_pagination(client: Client) -> None:
    for name in ["b/two", "a", "b", "c/x/y"]:
        await push_image(client, name, "v1")
    resp = await client.get("/v2/_catalog")
    assert resp.status == 200
    assert await resp.json() == {"repositories": ["a", "b", "b/two", "c/x/y"]}
    page = await client.get("/v2/_catalog?n=2")
    assert (await page.json())["repositories"] == ["a", "b"]
    assert page.headers["Link"] == '</v2/_catalog?n=2&last=b>; rel="next"'
    rest = await client.get("/v2/_catalog?n=2&last=b")
    assert (await rest.json())["repositories"] == ["b/two", "c/x/y"]
    assert "Link" not in rest.headers
    too_many = await client.get("/v2/_catalog?n=100000")
    assert too_many.status == 400
    assert await error_codes(too_many) == ["PAGINATION_NUMBER_INVALID"]


async def test_empty_catalog(client: Client) -> None:
    resp = await client.get("/v2/_catalog")
    assert await resp.json() == {"repositories": []}


async def push_referrer(
    client: Client, name: str, subject: str, artifact_type: str | None, **extra: Any
) -> tuple[str, bytes]:
    empty = await push_blob(client, name, b"{}")
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_EMPTY, "digest": empty, "size": 2},
        "layers": [{"mediaType": OCI_EMPTY, "digest": empty, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 123},
        **extra,
    }
    if artifact_type:
        doc["artifactType"] = artifact_type
    body = json.dumps(doc).encode()
    resp = await put_manifest(client, name, sha256(body), body)
    assert resp.status == 201
    return sha256(body), body


async def test_referrers(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    sbom, sbom_body = await push_referrer(
        client,
        "repo",
        image.digest,
        "application/vnd.example.sbom",
        annotations={"org.example.kind": "sbom"},
    )
    sig, sig_body = await push_referrer(client, "repo", image.digest, "application/vnd.example.sig")
    await push_referrer(client, "repo", sha256(b"another subject"), "application/vnd.example.sig")
    resp = await client.get(f"/v2/repo/referrers/{image.digest}")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == OCI_INDEX
    assert "OCI-Filters-Applied" not in resp.headers
    index = await resp.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert by_digest == {
        sbom: {
            "mediaType": OCI_MANIFEST,
            "digest": sbom,
            "size": len(sbom_body),
            "artifactType": "application/vnd.example.sbom",
            "annotations": {"org.example.kind": "sbom"},
        },
        sig: {
            "mediaType": OCI_MANIFEST,
            "digest": sig,
            "size": len(sig_body),
            "artifactType": "application/vnd.example.sig",
        },
    }


async def test_referrers_artifact_type_filter(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    await push_referrer(client, "repo", image.digest, "application/vnd.example.sbom")
    sig, _ = await push_referrer(client, "repo", image.digest, "application/vnd.example.sig")
    resp = await client.get(
        f"/v2/repo/referrers/{image.digest}", params={"artifactType": "application/vnd.example.sig"}
    )
    assert resp.status == 200
    assert resp.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in (await resp.json())["manifests"]] == [sig]


async def test_referrer_artifact_type_falls_back_to_config_media_type(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    config = await push_blob(client, "repo", b'{"sig": true}')
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.example.config", "digest": config, "size": 13},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": 1},
        }
    ).encode()
    assert (await put_manifest(client, "repo", sha256(body), body)).status == 201
    resp = await client.get(f"/v2/repo/referrers/{image.digest}")
    [entry] = (await resp.json())["manifests"]
    assert entry["artifactType"] == "application/vnd.example.config"


async def test_referrers_of_unknown_subject_or_repository_is_empty(client: Client) -> None:
    await push_image(client, "repo", "v1")
    for path in (f"/v2/repo/referrers/{sha256(b'x')}", f"/v2/elsewhere/referrers/{sha256(b'x')}"):
        resp = await client.get(path)
        assert resp.status == 200
        assert (await resp.json())["manifests"] == []


async def test_referrers_with_invalid_digest(client: Client) -> None:
    resp = await client.get("/v2/repo/referrers/sha256:" + "g" * 64)
    assert resp.status in (400, 404)
    resp = await client.get("/v2/repo/referrers/sha256:" + "a" * 40)
    assert resp.status == 400
    assert await error_codes(resp) == ["DIGEST_INVALID"]


async def test_deleted_referrer_disappears(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    sig, _ = await push_referrer(client, "repo", image.digest, "application/vnd.example.sig")
    assert (await client.delete(f"/v2/repo/manifests/{sig}")).status == 202
    resp = await client.get(f"/v2/repo/referrers/{image.digest}")
    assert (await resp.json())["manifests"] == []


async def test_image_config_type_is_not_an_artifact_filter_match(client: Client) -> None:
    image = await push_image(client, "repo", "v1")
    resp = await client.get(
        f"/v2/repo/referrers/{image.digest}", params={"artifactType": OCI_CONFIG}
    )
    assert (await resp.json())["manifests"] == []
