"""The token endpoint in process (aiohttp_client on create_app, migrated temp SQLite database).

Every branch of issue 3 §2–§6: GET /auth, the JWT, POST /auth (OAuth2), refresh tokens,
/healthz and /readyz, including each error.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from cryptography import x509

from authsvc.app import create_app
from authsvc.appkeys import ACL_CACHE, CONFIG, SESSIONMAKER, SIGNER
from authsvc.config import Config
from authsvc.keys import load_certificates
from authsvc.libtrust import key_id
from tests.authsvc.tokenhelpers import (
    ISSUER,
    REALM,
    KeyPair,
    Seeder,
    basic,
    make_config,
    make_keys,
)

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

ALICE, ALICE_PW = "alice", "alice-password"
BOB, BOB_PW = "bob", "bob-password"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(tmp_path_factory.mktemp("keys"), "ES256")


@dataclass
class Env:
    """A running app, its client and a seeder on the same database."""

    client: TestClient[web.Request, web.Application]
    app: web.Application
    seed: Seeder
    keys: KeyPair

    async def get(self, **params: Any) -> Any:
        """GET /auth with query parameters (``headers`` separately)."""
        headers = params.pop("headers", None)
        query = [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])]
        return await self.client.get("/auth", params=query, headers=headers)

    async def post(self, **form: str) -> Any:
        """POST /auth with a form body."""
        return await self.client.post("/auth", data=form)

    def decode(self, token: str, audience: str = "registry") -> dict[str, Any]:
        """Verify a token with the certificate's public key, as a registry does."""
        public: Any = load_certificates(self.keys.cert)[0].public_key()
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(
            token, public, algorithms=[header["alg"]], audience=audience, issuer=ISSUER
        )
        return claims


async def start(aiohttp_client: AiohttpClient, config: Config, keys: KeyPair) -> Env:
    app = create_app(config)
    client = await aiohttp_client(app)
    return Env(client, app, Seeder(app[SESSIONMAKER]), keys)


@pytest.fixture
async def env(aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair) -> Env:
    """The app on a migrated, empty database (SQLite, and PostgreSQL when configured)."""
    env = await start(aiohttp_client, make_config(db_url, keys), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.user(BOB, BOB_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull", "push"])
    await env.seed.rule(ALICE, "shared/*", ["pull"])
    await env.seed.rule(ALICE, "localhost:5000/mirror/*", ["pull"])
    await env.seed.rule(ALICE, "catalog", ["*"], type="registry")
    await env.seed.rule("@anonymous", "public/*", ["pull"])
    await env.seed.rule("*", "everyone/*", ["pull"])
    return env


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert set(error) == {"code", "message", "detail"}
    return dict(error)


# --- GET /auth: success shapes ----------------------------------------------------------------


async def test_login_without_scope_gets_token_with_empty_access(env: Env) -> None:
    resp = await env.get(service="registry", headers=basic(ALICE, ALICE_PW))
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"]
    # Real clients reject 300.0 and numeric timestamps.
    assert type(body["expires_in"]) is int and body["expires_in"] == 300
    assert RFC3339_Z.match(body["issued_at"])
    claims = env.decode(body["token"])
    assert claims["sub"] == ALICE
    assert claims["aud"] == "registry"
    assert claims["access"] == []
    issued = dt.datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert int(issued.timestamp()) == claims["iat"]


async def test_jwt_header_and_claims(env: Env) -> None:
    resp = await env.get(
        service="registry", scope="repository:alice/app:pull", headers=basic(ALICE, ALICE_PW)
    )
    token = (await resp.json())["token"]
    header = jwt.get_unverified_header(token)
    cert = load_certificates(env.keys.cert)[0]
    assert header["typ"] == "JWT"
    assert header["alg"] == "ES256"
    assert header["kid"] == key_id(cert.public_key())
    assert x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0])) == cert
    claims = env.decode(token)
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert all(type(claims[k]) is int for k in ("exp", "nbf", "iat"))
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] <= claims["iat"]
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 16
    other = env.decode((await (await env.get(service="registry")).json())["token"])
    assert other["jti"] != claims["jti"]


async def test_repeated_and_space_joined_scopes(env: Env) -> None:
    resp = await env.get(
        service="registry",
        scope=["repository:alice/a:pull", "repository:alice/b:push repository:shared/x:pull"],
        headers=basic(ALICE, ALICE_PW),
    )
    assert resp.status == 200
    access = env.decode((await resp.json())["token"])["access"]
    assert access == [
        {"type": "repository", "name": "alice/a", "actions": ["pull"]},
        {"type": "repository", "name": "alice/b", "actions": ["push"]},
        {"type": "repository", "name": "shared/x", "actions": ["pull"]},
    ]


async def test_downscoping_drops_denied_actions_and_resources(env: Env) -> None:
    resp = await env.get(
        service="registry",
        scope=["repository:shared/x:pull,push", "repository:bob/secret:pull"],
        headers=basic(ALICE, ALICE_PW),
    )
    assert resp.status == 200
    access = env.decode((await resp.json())["token"])["access"]
    # push on shared/* is not allowed; bob/secret grants nothing and is left out entirely.
    assert access == [{"type": "repository", "name": "shared/x", "actions": ["pull"]}]


async def test_repeated_resource_is_merged(env: Env) -> None:
    resp = await env.get(
        service="registry",
        scope=["repository:alice/a:pull", "repository:alice/a:push,pull"],
        headers=basic(ALICE, ALICE_PW),
    )
    access = env.decode((await resp.json())["token"])["access"]
    assert access == [{"type": "repository", "name": "alice/a", "actions": ["pull", "push"]}]


async def test_host_port_name_and_resource_class(env: Env) -> None:
    resp = await env.get(
        service="registry",
        scope=["repository:localhost:5000/mirror/app:pull", "repository(plugin):alice/p:pull"],
        headers=basic(ALICE, ALICE_PW),
    )
    assert resp.status == 200
    access = env.decode((await resp.json())["token"])["access"]
    assert access == [
        {"type": "repository", "name": "localhost:5000/mirror/app", "actions": ["pull"]},
        {"type": "repository", "name": "alice/p", "actions": ["pull"]},
    ]


async def test_catalog_through_registry_rule(env: Env) -> None:
    resp = await env.get(
        service="registry", scope="registry:catalog:*", headers=basic(ALICE, ALICE_PW)
    )
    access = env.decode((await resp.json())["token"])["access"]
    assert access == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    resp = await env.get(service="registry", scope="registry:catalog:*", headers=basic(BOB, BOB_PW))
    assert env.decode((await resp.json())["token"])["access"] == []


async def test_second_service_is_the_audience(env: Env) -> None:
    resp = await env.get(
        service="other-registry", scope="repository:alice/a:pull", headers=basic(ALICE, ALICE_PW)
    )
    assert resp.status == 200
    claims = env.decode((await resp.json())["token"], audience="other-registry")
    assert claims["aud"] == "other-registry"


async def test_anonymous_gets_only_anonymous_rules(env: Env) -> None:
    resp = await env.get(
        service="registry",
        scope=["repository:public/app:pull,push", "repository:everyone/app:pull"],
    )
    assert resp.status == 200
    body = await resp.json()
    assert "refresh_token" not in body
    claims = env.decode(body["token"])
    assert claims["sub"] == ""
    # The "*" account rule on everyone/* does not match anonymous requests.
    assert claims["access"] == [{"type": "repository", "name": "public/app", "actions": ["pull"]}]


async def test_account_parameter_matching_user(env: Env) -> None:
    resp = await env.get(service="registry", account=ALICE, headers=basic(ALICE, ALICE_PW))
    assert resp.status == 200


# --- GET /auth: errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    ["repository", "repository:alice/app", "repository:Alice/App:pull", "repo!:a:pull",
     "repository:alice/app:PULL", "repository::pull"],
)  # fmt: skip
async def test_malformed_scope_is_400(env: Env, scope: str) -> None:
    resp = await env.get(service="registry", scope=scope, headers=basic(ALICE, ALICE_PW))
    assert resp.status == 400
    error = error_of(await resp.json())
    assert error["code"] == "SCOPE_INVALID"
    assert "invalid scope" in error["message"]


@pytest.mark.parametrize("service", [None, "", "elsewhere"])
async def test_unknown_or_missing_service_is_400(env: Env, service: str | None) -> None:
    params = {} if service is None else {"service": service}
    resp = await env.get(**params, headers=basic(ALICE, ALICE_PW))
    assert resp.status == 400
    assert error_of(await resp.json())["code"] == "SERVICE_UNKNOWN"


async def test_account_mismatch_is_400(env: Env) -> None:
    resp = await env.get(service="registry", account=BOB, headers=basic(ALICE, ALICE_PW))
    assert resp.status == 400
    assert error_of(await resp.json())["code"] == "ACCOUNT_MISMATCH"


@pytest.mark.parametrize(
    ("user", "password"),
    [(ALICE, "wrong"), ("nosuchuser", "whatever"), (ALICE, ""), ("@anonymous", "x")],
)
async def test_bad_credentials_are_401_with_basic_challenge(
    env: Env, user: str, password: str
) -> None:
    resp = await env.get(service="registry", headers=basic(user, password))
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == f'Basic realm="{REALM}"'
    error = error_of(await resp.json())
    assert error["code"] == "UNAUTHORIZED"
    assert error["message"] == "invalid username or password"


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc",
        "Basic",
    ],
)
async def test_malformed_authorization_is_401(env: Env, header: str) -> None:
    resp = await env.get(service="registry", headers={"Authorization": header})
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert error_of(await resp.json())["code"] == "UNAUTHORIZED"


async def test_disabled_user_is_401(env: Env) -> None:
    await env.seed.user("carol", "carol-pw", disabled=True)
    resp = await env.get(service="registry", headers=basic("carol", "carol-pw"))
    assert resp.status == 401
    assert error_of(await resp.json())["message"] == "user account is disabled"
    # Someone without the password does not learn that the account exists.
    resp = await env.get(service="registry", headers=basic("carol", "guess"))
    assert error_of(await resp.json())["message"] == "invalid username or password"


async def test_bad_offline_token_value_is_400(env: Env) -> None:
    resp = await env.get(service="registry", offline_token="maybe", headers=basic(ALICE, ALICE_PW))
    assert resp.status == 400
    assert error_of(await resp.json())["code"] == "REQUEST_INVALID"


async def test_bad_client_id_is_400(env: Env) -> None:
    resp = await env.get(
        service="registry",
        offline_token="true",
        client_id="x\u00e9",
        headers=basic(ALICE, ALICE_PW),
    )
    assert resp.status == 400
    assert error_of(await resp.json())["code"] == "CLIENT_INVALID"


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


async def refresh_token_for(env: Env, user: str, password: str, service: str = "registry") -> str:
    resp = await env.post(
        grant_type="password", username=user, password=password, service=service,
        client_id="test", access_type="offline",
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["refresh_token"]
    return token


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


def oauth_error(body: dict[str, Any]) -> str:
    assert {"error", "error_description"} <= set(body)
    assert re.fullmatch(r"[\x20\x21\x23-\x5b\x5d-\x7e]*", body["error_description"])
    return str(body["error"])


async def post_refresh(env: Env, secret: str, service: str = "registry") -> Any:
    return await env.post(
        grant_type="refresh_token", refresh_token=secret, service=service, client_id="docker"
    )


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
    from authsvc.refresh import new_refresh_token

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
    env.app[ACL_CACHE].invalidate()
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
