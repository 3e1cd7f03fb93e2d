"""POST /auth (OAuth2 password and refresh_token grants) and its RFC 6749 §5.2 errors."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from authsvc.appkeys import SESSIONMAKER
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    RFC3339_Z,
    Env,
    oauth_error,
    post_refresh,
    refresh_token_for,
)
from tests.authsvc.tokenhelpers import (
    basic,
)

# --- POST /auth ----------------------------------------------------------------------------


async def test_post_password_grant(env: Env) -> None:
    resp = await env.post(
        grant_type="password", username=ALICE, password=ALICE_PW, service="registry",
        client_id="containerd-client",
        scope="repository:alice/app:pull,push repository:bob/x:pull",
    )  # fmt: skip
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"access_token", "token_type", "scope", "expires_in", "issued_at"}
    assert type(body["expires_in"]) is int
    assert RFC3339_Z.match(body["issued_at"])
    assert body["token_type"] == "Bearer"
    # The granted scope, space-separated (RFC 6749 §5.1); bob/x granted nothing.
    assert body["scope"] == "repository:alice/app:pull,push"
    claims = env.decode(body["access_token"])
    assert claims["access"] == [
        {"type": "repository", "name": "alice/app", "actions": ["pull", "push"]}
    ]


async def test_post_password_grant_offline_returns_refresh_token(env: Env) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW)
    (record,) = await env.seed.tokens(ALICE)
    assert record.client_id == "test"
    assert record.token_hash == hashlib.sha256(secret.encode()).hexdigest()


async def test_post_refresh_grant_is_not_rotated(env: Env) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW)
    for _ in range(2):
        resp = await env.post(
            grant_type="refresh_token", refresh_token=secret, service="registry",
            client_id="docker", scope="repository:alice/app:pull",
        )  # fmt: skip
        assert resp.status == 200
        body = await resp.json()
        assert "refresh_token" not in body
        assert body["scope"] == "repository:alice/app:pull"
        assert env.decode(body["access_token"])["sub"] == ALICE
    (record,) = await env.seed.tokens(ALICE)
    assert record.last_used_at is not None
    assert not record.revoked


async def test_revoked_refresh_token_is_invalid_grant(env: Env) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW)
    (record,) = await env.seed.tokens(ALICE)
    await env.seed.revoke(record.id)
    resp = await post_refresh(env, secret)
    assert resp.status == 400
    body = await resp.json()
    assert oauth_error(body) == "invalid_grant"
    assert body["error_description"] == "refresh token has been revoked"
    # The GET fallback (":token" as Basic) refuses it too.
    resp = await env.get(service="registry", headers=basic("", secret))
    assert resp.status == 401


@pytest.mark.parametrize("change", ["password", "disable", "delete"])
async def test_user_changes_revoke_refresh_tokens(env: Env, change: str) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW)
    if change == "password":
        await env.seed.set_password(ALICE, "new-password")
    elif change == "disable":
        await env.seed.set_disabled(ALICE, True)
    else:
        await env.seed.delete_user(ALICE)
    resp = await post_refresh(env, secret)
    assert resp.status == 400
    assert oauth_error(await resp.json()) == "invalid_grant"


async def test_refresh_token_for_another_service_is_invalid_grant(env: Env) -> None:
    secret = await refresh_token_for(env, ALICE, ALICE_PW, service="other-registry")
    resp = await post_refresh(env, secret, service="registry")
    assert resp.status == 400
    assert (await resp.json())["error_description"] == (
        "refresh token was not issued for this service"
    )
    assert (await post_refresh(env, secret, service="other-registry")).status == 200


async def test_expired_refresh_token_is_invalid_grant(env: Env) -> None:
    from authsvc import store
    from authsvc.refresh_tokens import new_refresh_token

    secret, token_hash = new_refresh_token()
    user = await env.seed.get_user(ALICE)
    assert user is not None
    async with env.app[SESSIONMAKER]() as session:
        await store.create_refresh_token(
            session, user_id=user.id, token_hash=token_hash, service="registry",
            client_id="x", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
        )  # fmt: skip
        await session.commit()
    resp = await post_refresh(env, secret)
    assert resp.status == 400
    assert (await resp.json())["error_description"] == "refresh token has expired"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"username": ALICE, "password": "wrong"}, "invalid_grant"),
        ({"username": "nosuch", "password": "x"}, "invalid_grant"),
        ({"username": ALICE}, "invalid_request"),
        ({"password": ALICE_PW}, "invalid_request"),
        ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "invalid_request"),
        ({"service": "elsewhere"}, "invalid_request"),
        ({"service": ""}, "invalid_request"),
        ({"client_id": ""}, "invalid_request"),
        ({"client_id": "bad\u0001id"}, "invalid_client"),
        ({"scope": "repository:alice/app"}, "invalid_scope"),
        ({"access_type": "forever"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": ""}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
    ],
)
async def test_post_errors_are_oauth2(env: Env, form: dict[str, str], error: str) -> None:
    data = {
        "grant_type": "password",
        "username": ALICE,
        "password": ALICE_PW,
        "service": "registry",
        "client_id": "test",
    }
    if "username" in form or "password" in form:
        data.pop("username")
        data.pop("password")
    data.update(form)
    resp = await env.post(**{k: v for k, v in data.items()})
    # Never 401/403 or a non-JSON body to a POST: containerd would not fall back to GET.
    assert resp.status == 400
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert oauth_error(body) == error
    assert body["errors"][0]["message"] == body["error_description"]


async def test_post_disabled_user_is_invalid_grant(env: Env) -> None:
    await env.seed.user("carol", "carol-pw", disabled=True)
    resp = await env.post(
        grant_type="password", username="carol", password="carol-pw", service="registry",
        client_id="test",
    )  # fmt: skip
    assert resp.status == 400
    body = await resp.json()
    assert oauth_error(body) == "invalid_grant"
    assert body["error_description"] == "user account is disabled"


async def test_post_requires_a_form_body(env: Env) -> None:
    resp = await env.client.post("/auth", json={"grant_type": "password"})
    assert resp.status == 400
    assert oauth_error(await resp.json()) == "invalid_request"
