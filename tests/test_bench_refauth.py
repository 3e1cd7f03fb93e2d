"""The bench's reference token server answers what authsvc answers, so T1/T2's fractions compare
like with like: the same JOSE header, the same claim names, the same JSON body keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp.test_utils import TestClient

from authsvc.jwt_signer import JwtSigner, build_claims
from authsvc.keys import (
    generate_key,
    load_signing_material,
    self_signed_certificate,
    write_key_pair,
)
from bench.refauth import Signer, create_app

ISSUER = "bench-authsvc"


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    key = generate_key("ES256")
    return write_key_pair(tmp_path, key, self_signed_certificate(key))


@pytest.fixture
async def client(aiohttp_client: Any, keys: tuple[Path, Path]) -> TestClient[Any, Any]:
    kid = load_signing_material(*keys).kid
    app = create_app(Signer(keys[0], keys[1], kid, ISSUER))
    return await aiohttp_client(app)  # type: ignore[no-any-return]


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]


def authsvc_token(keys: tuple[Path, Path]) -> str:
    """A token signed the way authsvc signs (its JwtSigner and claims builder)."""
    signer = JwtSigner(load_signing_material(*keys))
    claims = build_claims(
        issuer=ISSUER, subject="bench", audience="registry", access=[], now=0, ttl=300, jti="x"
    )
    return signer.sign(claims)


async def test_post_refresh_grant_matches_authsvc(
    client: TestClient[Any, Any], keys: tuple[Path, Path]
) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "anything",
        "service": "registry",
        "client_id": "bench",
        "scope": "repository:bench/t1:pull",
    }
    resp = await client.post("/auth", data=form)
    assert resp.status == 200
    body = await resp.json()
    # authsvc's POST body (README, CONTRACT): no refresh_token unless access_type=offline.
    assert set(body) == {"access_token", "token_type", "scope", "expires_in", "issued_at"}
    assert body["scope"] == "repository:bench/t1:pull"
    token = body["access_token"]
    assert header_of(token) == header_of(authsvc_token(keys))
    public = load_signing_material(*keys).key.public_key()
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="registry", issuer=ISSUER)
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert claims["access"] == [{"type": "repository", "name": "bench/t1", "actions": ["pull"]}]


async def test_get_with_basic_matches_authsvc_body(client: TestClient[Any, Any]) -> None:
    basic = "Basic " + base64.b64encode(b"bench:secret").decode()
    resp = await client.get(
        "/auth",
        params={"service": "registry", "scope": "repository:bench/t2:pull,push"},
        headers={"Authorization": basic},
    )
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "bench"
    assert claims["access"][0]["actions"] == ["pull", "push"]
