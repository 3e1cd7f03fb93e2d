"""GET /auth: token shapes, downscoping, scopes and services, and every 400/401."""

from __future__ import annotations

import base64
import datetime as dt

import jwt
import pytest
from cryptography import x509

from authsvc.keys import load_certificates
from authsvc.libtrust import key_id
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    BOB,
    BOB_PW,
    RFC3339_Z,
    Env,
    error_of,
)
from tests.authsvc.tokenhelpers import (
    REALM,
    basic,
)

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
