"""The dispatcher's auth step: Bearer challenges, required access per route, mount fallback."""

from __future__ import annotations

import base64
import datetime
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from registry.auth import key_id
from registry.config import AuthTokenConfig, Config
from tests.registry.api_support import (
    Client,
    ClientFactory,
    error_codes,
    push_blob,
    push_image,
    registry_config,
    sha256,
)

REALM, SERVICE, ISSUER = "http://auth.test/token", "registry.test", "authsvc-test"


class Signer:
    """An ES256 key with a self-signed certificate, minting tokens like authsvc."""

    def __init__(self, directory: Path) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token signer")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = directory / "bundle.pem"
        self.bundle.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def token(self, *access: tuple[str, str, list[str]], **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "sub": "alice",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": [{"type": t, "name": n, "actions": a} for t, n, a in access],
            **claims,
        }
        der = self.cert.public_bytes(serialization.Encoding.DER)
        headers = {
            "kid": key_id(self.key.public_key()),
            "x5c": [base64.b64encode(der).decode()],
        }
        return jwt.encode(payload, self.key, algorithm="ES256", headers=headers)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(tmp_path)


@pytest.fixture
async def setup(
    make_client: ClientFactory, signer: Signer, tmp_path: Path
) -> tuple[Client, Client]:
    """(open client, auth client) over one root: the open one seeds content."""
    root = tmp_path / "root"
    auth = AuthTokenConfig(
        realm=REALM, service=SERVICE, issuer=ISSUER, rootcertbundle=signer.bundle
    )
    base = registry_config(root)
    secured = Config(storage=base.storage, auth=auth)
    return await make_client(base), await make_client(secured)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge(resp: Any) -> str:
    return str(resp.headers["WWW-Authenticate"])


async def test_no_token_gets_a_bearer_challenge(setup: tuple[Client, Client]) -> None:
    _, client = setup
    resp = await client.get("/v2/")
    assert resp.status == 401
    assert await error_codes(resp) == ["UNAUTHORIZED"]
    assert challenge(resp) == f'Bearer realm="{REALM}",service="{SERVICE}"'
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    resp = await client.get("/v2/team/app/manifests/latest")
    assert resp.status == 401
    assert challenge(resp) == (
        f'Bearer realm="{REALM}",service="{SERVICE}",scope="repository:team/app:pull"'
    )


async def test_base_accepts_any_valid_token(setup: tuple[Client, Client], signer: Signer) -> None:
    _, client = setup
    resp = await client.get("/v2/", headers=bearer(signer.token()))
    assert resp.status == 200


async def test_pull_with_token(setup: tuple[Client, Client], signer: Signer) -> None:
    seed, client = setup
    image = await push_image(seed, "team/app", "v1")
    token = signer.token(("repository", "team/app", ["pull"]))
    resp = await client.get("/v2/team/app/manifests/v1", headers=bearer(token))
    assert resp.status == 200
    assert await resp.read() == image.manifest
    blob = await client.head(f"/v2/team/app/blobs/{sha256(image.layers[0])}", headers=bearer(token))
    assert blob.status == 200
    other = await client.get("/v2/team/other/manifests/v1", headers=bearer(token))
    assert other.status == 401
    assert 'error="insufficient_scope"' in challenge(other)
    assert 'scope="repository:team/other:pull"' in challenge(other)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v2/repo/blobs/uploads/", "repository:repo:pull,push"),
        ("PUT", "/v2/repo/manifests/v1", "repository:repo:pull,push"),
        ("PATCH", "/v2/repo/blobs/uploads/abc", "repository:repo:pull,push"),
        ("DELETE", "/v2/repo/manifests/v1", "repository:repo:delete"),
        ("GET", "/v2/_catalog", "registry:catalog:*"),
    ],
)
async def test_pull_only_token_is_insufficient(
    setup: tuple[Client, Client], signer: Signer, method: str, path: str, scope: str
) -> None:
    _, client = setup
    token = signer.token(("repository", "repo", ["pull"]))
    resp = await client.request(method, path, headers=bearer(token))
    assert resp.status == 401
    assert await error_codes(resp) == ["UNAUTHORIZED"]
    assert challenge(resp) == (
        f'Bearer realm="{REALM}",service="{SERVICE}",scope="{scope}",error="insufficient_scope"'
    )


async def test_push_and_delete_with_token(setup: tuple[Client, Client], signer: Signer) -> None:
    _, client = setup
    token = signer.token(("repository", "repo", ["pull", "push", "delete"]))
    resp = await client.post(
        f"/v2/repo/blobs/uploads/?digest={sha256(b'data')}", data=b"data", headers=bearer(token)
    )
    assert resp.status == 201
    resp = await client.delete(f"/v2/repo/blobs/{sha256(b'data')}", headers=bearer(token))
    assert resp.status == 202


async def test_catalog_needs_the_catalog_scope(
    setup: tuple[Client, Client], signer: Signer
) -> None:
    seed, client = setup
    await push_image(seed, "repo", "v1")
    token = signer.token(("registry", "catalog", ["*"]))
    resp = await client.get("/v2/_catalog", headers=bearer(token))
    assert resp.status == 200
    assert await resp.json() == {"repositories": ["repo"]}


async def test_wildcard_action_covers_everything(
    setup: tuple[Client, Client], signer: Signer
) -> None:
    _, client = setup
    token = signer.token(("repository", "repo", ["*"]))
    resp = await client.post("/v2/repo/blobs/uploads/", headers=bearer(token))
    assert resp.status == 202


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not.a.token", "Basic YWxpY2U6cGFzcw==", "Bearer "],
)
async def test_invalid_tokens(setup: tuple[Client, Client], authorization: str) -> None:
    _, client = setup
    resp = await client.get("/v2/repo/tags/list", headers={"Authorization": authorization})
    assert resp.status == 401
    assert await error_codes(resp) == ["UNAUTHORIZED"]
    assert challenge(resp).startswith(f'Bearer realm="{REALM}",service="{SERVICE}"')


async def test_wrong_audience_is_invalid_token(
    setup: tuple[Client, Client], signer: Signer
) -> None:
    _, client = setup
    token = signer.token(("repository", "repo", ["pull"]), aud="another-service")
    resp = await client.get("/v2/repo/tags/list", headers=bearer(token))
    assert resp.status == 401
    assert 'error="invalid_token"' in challenge(resp)


async def test_mount_needs_pull_on_the_source(setup: tuple[Client, Client], signer: Signer) -> None:
    seed, client = setup
    digest = await push_blob(seed, "source", b"shared layer")
    target_only = signer.token(("repository", "target", ["pull", "push"]))
    resp = await client.post(
        f"/v2/target/blobs/uploads/?mount={digest}&from=source", headers=bearer(target_only)
    )
    assert resp.status == 202  # falls back to an upload, no 401
    assert (await seed.head(f"/v2/target/blobs/{digest}")).status == 404
    both = signer.token(
        ("repository", "target", ["pull", "push"]), ("repository", "source", ["pull"])
    )
    resp = await client.post(
        f"/v2/target/blobs/uploads/?mount={digest}&from=source", headers=bearer(both)
    )
    assert resp.status == 201
    assert resp.headers["Docker-Content-Digest"] == digest


async def test_unknown_route_is_404_before_auth(setup: tuple[Client, Client]) -> None:
    _, client = setup
    resp = await client.get("/v2/repo/nonsense")
    assert resp.status == 404


async def _page_through(client: Client, token: str, n: int) -> list[list[str]]:
    """Every page of the catalog, following the Link header as a client does."""
    pages: list[list[str]] = []
    url: str | None = f"/v2/_catalog?n={n}"
    while url is not None:
        resp = await client.get(url, headers=bearer(token))
        assert resp.status == 200
        pages.append((await resp.json())["repositories"])
        link = resp.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    return pages


async def test_catalog_filter_claim_lists_what_it_shows_in_full_pages(
    setup: tuple[Client, Client], signer: Signer
) -> None:
    seed, client = setup
    names = ["a", "secret/x", "team/a", "team/b", "team/secret", "team/c", "z"]
    for name in names:
        await push_image(seed, name, "v1")
    # authsvc's first-match form: team/secret is hidden before team/.* shows the rest, and
    # a second list (a credential's caps) must show a name too.
    claim = [["-team/secret", "+team/.*", "+a", "-.*"], ["+team/.*", "+a", "+secret/.*"]]
    token = signer.token(("registry", "catalog", ["*"]), **{"authsvc.catalog": claim})
    whole = await client.get("/v2/_catalog", headers=bearer(token))
    assert (await whole.json())["repositories"] == ["a", "team/a", "team/b", "team/c"]
    # Pages are full and the Link leads through the filtered names only.
    assert await _page_through(client, token, 2) == [["a", "team/a"], ["team/b", "team/c"]]
    assert await _page_through(client, token, 3) == [["a", "team/a", "team/b"], ["team/c"]]
    # `last` may name a hidden repository: the listing resumes after it.
    resp = await client.get("/v2/_catalog?n=1&last=team/secret", headers=bearer(token))
    assert (await resp.json())["repositories"] == []
    resp = await client.get("/v2/_catalog?last=secret/x", headers=bearer(token))
    assert (await resp.json())["repositories"] == ["team/a", "team/b", "team/c"]
    # Without the claim the same grant lists everything, as before.
    plain = signer.token(("registry", "catalog", ["*"]))
    resp = await client.get("/v2/_catalog", headers=bearer(plain))
    assert len((await resp.json())["repositories"]) == len(names)


@pytest.mark.parametrize("claim", [{"x": 1}, [["team/.*"]], [["+("]], "+.*", [[1]]])
async def test_a_malformed_catalog_filter_lists_nothing(
    setup: tuple[Client, Client], signer: Signer, claim: object
) -> None:
    seed, client = setup
    await push_image(seed, "team/app", "v1")
    token = signer.token(
        ("registry", "catalog", ["*"]),
        ("repository", "team/app", ["pull"]),
        **{"authsvc.catalog": claim},
    )
    resp = await client.get("/v2/_catalog", headers=bearer(token))
    assert resp.status == 200
    assert await resp.json() == {"repositories": []}
    # The rest of the token still works.
    assert (await client.get("/v2/team/app/manifests/v1", headers=bearer(token))).status == 200
