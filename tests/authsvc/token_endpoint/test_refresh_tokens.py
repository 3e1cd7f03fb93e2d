"""Refresh tokens at the token endpoint: issued hashed, presented by GET and POST, revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from authsvc.appkeys import CONFIG
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    BOB,
    Env,
    error_of,
    refresh_token_for,
)
from tests.authsvc.tokenhelpers import (
    basic,
)

# --- refresh tokens via GET ------------------------------------------------------------------


async def test_offline_token_issues_hashed_refresh_token(env: Env) -> None:
    resp = await env.get(
        service="registry", offline_token="true", client_id="docker", headers=basic(ALICE, ALICE_PW)
    )
    assert resp.status == 200
    body = await resp.json()
    secret = body["refresh_token"]
    assert len(secret) >= 43
    (record,) = await env.seed.tokens(ALICE)
    assert record.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert record.token_hash != secret
    assert (record.subject, record.service, record.client_id) == (ALICE, "registry", "docker")
    assert not record.revoked
    lifetime = record.expires_at - record.created_at
    assert abs(lifetime - dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    url = env.app[CONFIG].database.url
    if url.startswith("sqlite"):
        # Neither the database file nor its write-ahead log holds the secret.
        db_path = Path(url.split("///", 1)[1])
        stored = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
        assert record.token_hash.encode() in stored
        assert secret.encode() not in stored


async def test_no_refresh_token_without_offline_or_anonymously(env: Env) -> None:
    body = await (await env.get(service="registry", headers=basic(ALICE, ALICE_PW))).json()
    assert "refresh_token" not in body
    body = await (await env.get(service="registry", offline_token="true")).json()
    assert "refresh_token" not in body
    assert await env.seed.tokens() == []


async def test_refresh_token_as_basic_password_with_empty_user(env: Env) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW)
    resp = await env.get(
        service="registry", scope="repository:alice/app:pull", headers=basic("", secret)
    )
    assert resp.status == 200
    body = await resp.json()
    # Presented as a password it is not rotated: no new refresh token.
    assert "refresh_token" not in (await (await env.get(
        service="registry", offline_token="true", headers=basic("", secret)
    )).json())  # fmt: skip
    claims = env.decode(body["token"])
    assert claims["sub"] == ALICE
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]
    resp = await env.get(service="registry", account=BOB, headers=basic("", secret))
    assert resp.status == 400
    resp = await env.get(service="registry", headers=basic("", "not-a-token"))
    assert resp.status == 401
    assert error_of(await resp.json())["message"] == "invalid refresh token"
