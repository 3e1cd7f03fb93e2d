"""Health endpoints, unknown routes, database outages, ACL caching, groups and RS256."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest

from authsvc.appkeys import SERVICES, SIGNER
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    BOB,
    BOB_PW,
    AiohttpClient,
    Env,
    error_of,
    oauth_error,
    start,
)
from tests.authsvc.tokenhelpers import (
    KeyPair,
    basic,
    make_config,
    make_keys,
)

# --- health, unknown routes, database outages ----------------------------------------------------


async def test_healthz_and_readyz(env: Env) -> None:
    resp = await env.client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}
    resp = await env.client.get("/readyz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ready"
    assert body["kid"] == env.app[SIGNER].kid


async def test_unknown_path_and_method_are_json(env: Env) -> None:
    resp = await env.client.get("/nope")
    assert resp.status == 404
    assert error_of(await resp.json())["code"] == "NOT_FOUND"
    resp = await env.client.put("/auth")
    assert resp.status == 405
    assert error_of(await resp.json())["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in resp.headers["Allow"]


@pytest.mark.parametrize(
    "url",
    ["unmigrated", "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"],
    ids=["sqlite-unmigrated", "postgres-refused"],
)
async def test_database_unavailable_is_503(
    aiohttp_client: AiohttpClient, keys: KeyPair, tmp_path: Path, url: str
) -> None:
    if url == "unmigrated":
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    env = await start(aiohttp_client, make_config(url, keys), keys)
    resp = await env.get(service="registry", headers=basic(ALICE, ALICE_PW))
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert error_of(await resp.json())["code"] == "UNAVAILABLE"
    resp = await env.post(
        grant_type="password", username=ALICE, password=ALICE_PW, service="registry",
        client_id="t",
    )  # fmt: skip
    assert resp.status == 503
    assert oauth_error(await resp.json()) == "temporarily_unavailable"
    resp = await env.client.get("/readyz")
    assert resp.status == 503
    assert (await env.client.get("/healthz")).status == 200


async def test_acl_change_applies_after_cache_invalidation(env: Env) -> None:
    scope = "repository:bob/app:pull"
    resp = await env.get(service="registry", scope=scope, headers=basic(BOB, BOB_PW))
    assert env.decode((await resp.json())["token"])["access"] == []
    await env.seed.rule(BOB, "bob/*", ["pull"])
    env.app[SERVICES].rule_cache.invalidate()
    resp = await env.get(service="registry", scope=scope, headers=basic(BOB, BOB_PW))
    assert env.decode((await resp.json())["token"])["access"] == [
        {"type": "repository", "name": "bob/app", "actions": ["pull"]}
    ]


async def test_group_rules_apply(env: Env) -> None:
    await env.seed.group("devs", BOB)
    await env.seed.rule("group:devs", "devs/*", ["pull", "push"])
    resp = await env.get(
        service="registry", scope="repository:devs/tool:push", headers=basic(BOB, BOB_PW)
    )
    assert env.decode((await resp.json())["token"])["access"] == [
        {"type": "repository", "name": "devs/tool", "actions": ["push"]}
    ]


async def test_rs256_app_round_trip(
    aiohttp_client: AiohttpClient, db_url: str, tmp_path: Path
) -> None:
    keys = make_keys(tmp_path / "rsa", "RS256")
    env = await start(aiohttp_client, make_config(db_url, keys), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull"])
    resp = await env.get(
        service="registry", scope="repository:alice/x:pull,push", headers=basic(ALICE, ALICE_PW)
    )
    token = (await resp.json())["token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert env.decode(token)["access"] == [
        {"type": "repository", "name": "alice/x", "actions": ["pull"]}
    ]
