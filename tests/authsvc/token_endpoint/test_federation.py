"""Keyless CI logins: OpenID Connect ID tokens through trusts, against a real HTTPS issuer.

The issuer (tests/oidc_issuer.py) serves discovery and a JWKS over HTTPS with a test CA that
authsvc trusts through ``trust.ca_file`` only, and signs GitHub- and GitLab-shaped tokens.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from authsvc import store
from authsvc.appkeys import AUDIT, SERVICES, SESSIONMAKER
from authsvc.config import TrustConfig
from authsvc.trust_service import TrustService
from tests.authsvc.token_endpoint.helpers import AiohttpClient, Env, error_of, oauth_error, start
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config
from tests.oidc_issuer import AUDIENCE, TestIssuer
from tests.support import free_port

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
APP = "repository:org/app:pull,push,delete"


@pytest.fixture
async def fenv(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, oidc_issuer: TestIssuer
) -> Env:
    """The app trusting the issuer's CA, with a GitHub trust and a GitLab trust."""
    config = dataclasses.replace(
        make_config(db_url, keys), trust=TrustConfig(ca_file=oidc_issuer.ca, timeout=5)
    )
    env = await start(aiohttp_client, config, keys)
    trusts = TrustService(env.app[SESSIONMAKER])
    await trusts.add(
        "gh-app",
        issuer=oidc_issuer.url,
        audience=AUDIENCE,
        claims=["repository=org/app", "ref=refs/heads/main", "environment=production"],
        grants=["repository:org/app:pull,push", "repository:org/cache/*:pull"],
        ttl=600,
    )
    await trusts.add(
        "gl-app",
        issuer=oidc_issuer.url,
        audience=AUDIENCE,
        claims=["project_path=group/app", "ref_protected=true"],
        grants=["repository:group/app:pull"],
    )
    # An ACL rule for everyone: a trust's grant is the whole policy, so it must not widen it.
    await env.seed.rule("*", "everyone/*", ["pull"])
    return env


async def oidc_get(env: Env, token: str, *scopes: str, **params: Any) -> Any:
    return await env.get(
        service="registry", scope=list(scopes) or [APP], headers=basic("oidc", token), **params
    )


async def exchange(env: Env, token: str, scope: str = APP, **form: str) -> Any:
    fields = {
        "grant_type": EXCHANGE,
        "subject_token": token,
        "subject_token_type": ID_TOKEN,
        "service": "registry",
        "scope": scope,
    }
    return await env.post(**{**fields, **form})


async def test_github_token_as_basic_password_gets_the_trust_grant(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    token = oidc_issuer.mint(oidc_issuer.github(), kid="rsa-1")
    resp = await oidc_get(
        fenv,
        token,
        APP,
        "repository:org/cache/x:pull,push",
        "repository:everyone/x:pull",
        "repository:org/other:pull",
        account="oidc",
        offline_token="true",
        client_id="docker",
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert "refresh_token" not in body  # never, not even with offline_token=true
    claims = fenv.decode(body["token"])
    assert claims["sub"] == "oidc:gh-app"
    assert claims["access"] == [
        {"type": "repository", "name": "org/app", "actions": ["pull", "push"]},
        {"type": "repository", "name": "org/cache/x", "actions": ["pull"]},
    ]
    assert claims["exp"] - claims["iat"] == 600 == body["expires_in"]


async def test_gitlab_es256_token_through_token_exchange(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    token = oidc_issuer.mint(oidc_issuer.gitlab(), kid="ec-1")
    for token_type in (ID_TOKEN, JWT_TYPE):
        resp = await exchange(
            fenv,
            token,
            "repository:group/app:pull,push",
            subject_token_type=token_type,
            access_type="offline",
            client_id="ci",
        )
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
        assert body["token_type"] == "Bearer"
        assert body["scope"] == "repository:group/app:pull"
        assert "refresh_token" not in body
        assert fenv.decode(body["access_token"])["sub"] == "oidc:gl-app"


async def test_the_audit_names_the_trust_and_the_id_token_subject(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    claims = oidc_issuer.github()
    resp = await oidc_get(fenv, oidc_issuer.mint(claims))
    assert resp.status == 200
    await fenv.app[AUDIT].flush()
    async with store.transaction(fenv.app[SESSIONMAKER], commit=False) as session:
        rows = await store.list_audit_events(session, event="token_issued")
    (row,) = rows
    assert row.subject == "oidc:gh-app"
    assert row.rule == "trust:gh-app"
    assert row.detail == f"iss={oidc_issuer.url} sub={claims['sub']}"
    assert row.granted == "repository:org/app:pull,push"


def _refusals(issuer: TestIssuer) -> dict[str, str]:
    gh = issuer.github
    now = int(time.time())
    return {
        "wrong issuer": issuer.mint({**gh(), "iss": "https://token.example.invalid"}),
        "wrong audience": issuer.mint(gh(aud="someone-else")),
        "expired": issuer.mint(gh(iat=now - 900, nbf=now - 900, exp=now - 300)),
        "not yet valid": issuer.mint(gh(nbf=now + 600)),
        "issued in the future": issuer.mint(gh(iat=now + 600)),
        "no exp": issuer.mint({k: v for k, v in gh().items() if k != "exp"}),
        "claim does not match": issuer.mint(gh(ref="refs/heads/dev")),
        "claim missing": issuer.mint({k: v for k, v in gh().items() if k != "environment"}),
        "key not in the JWKS": issuer.mint(gh(), kid="rogue"),
        "HS256 with the public key": issuer.mint_hs256_with_public_key(gh()),
        "alg none": _unsigned(gh()),
        "not a JWT": "hunter2",
    }


def _unsigned(claims: dict[str, Any]) -> str:
    import base64
    import json

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.x"


REFUSALS = [
    "wrong issuer",
    "wrong audience",
    "expired",
    "not yet valid",
    "issued in the future",
    "no exp",
    "claim does not match",
    "claim missing",
    "key not in the JWKS",
    "HS256 with the public key",
    "alg none",
    "not a JWT",
]


@pytest.mark.parametrize("case", REFUSALS)
async def test_refused_tokens_get_401_and_invalid_grant(
    fenv: Env, oidc_issuer: TestIssuer, case: str
) -> None:
    token = _refusals(oidc_issuer)[case]
    resp = await oidc_get(fenv, token)
    assert resp.status == 401, case
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert error_of(await resp.json())["code"] == "UNAUTHORIZED"
    resp = await exchange(fenv, token)
    assert resp.status == 400, case
    assert oauth_error(await resp.json()) == "invalid_grant"


async def test_an_issuer_that_is_down_gives_503_and_no_grant(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    down = f"https://127.0.0.1:{free_port()}"
    await TrustService(fenv.app[SESSIONMAKER]).add(
        "down", issuer=down, audience=AUDIENCE, claims=["sub=*"], grants=[APP]
    )
    token = oidc_issuer.mint({**oidc_issuer.github(), "iss": down})
    resp = await oidc_get(fenv, token)
    assert resp.status == 503
    assert resp.headers["Retry-After"]
    assert "token" not in await resp.json()
    resp = await exchange(fenv, token)
    assert resp.status == 503
    assert oauth_error(await resp.json()) == "temporarily_unavailable"


async def test_a_rotated_key_is_fetched_once_and_unknown_kids_are_rate_limited(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    assert (await oidc_get(fenv, oidc_issuer.mint(oidc_issuer.github()))).status == 200
    fetched = oidc_issuer.hits["jwks"]
    new = oidc_issuer.rotate()
    resp = await oidc_get(fenv, oidc_issuer.mint(oidc_issuer.github(), kid=new.kid))
    assert resp.status == 200, await resp.text()
    assert oidc_issuer.hits["jwks"] == fetched + 1
    for _ in range(3):
        rogue = oidc_issuer.mint(oidc_issuer.github(), kid="rogue")
        assert (await oidc_get(fenv, rogue)).status == 401
    assert oidc_issuer.hits["jwks"] == fetched + 1  # within KEY_REFETCH_INTERVAL: no refetch


async def test_token_exchange_parameters_are_checked(fenv: Env, oidc_issuer: TestIssuer) -> None:
    token = oidc_issuer.mint(oidc_issuer.github())
    cases = [
        {"subject_token_type": "urn:ietf:params:oauth:token-type:saml2"},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        {"subject_token": ""},
    ]
    for form in cases:
        resp = await exchange(fenv, token, **form)
        assert resp.status == 400, form
        assert oauth_error(await resp.json()) == "invalid_request", form
    # RFC 8693's `audience` names the service when `service` is absent.
    resp = await exchange(fenv, token, service="", audience="registry")
    assert resp.status == 200, await resp.text()


async def test_failed_id_token_logins_are_throttled_per_subject(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    bad = oidc_issuer.mint(oidc_issuer.github(ref="refs/heads/dev"))
    statuses = [(await oidc_get(fenv, bad)).status for _ in range(8)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    # Another pipeline behind the same address (another sub) is not blocked by that one.
    good = oidc_issuer.mint(oidc_issuer.gitlab(), kid="ec-1")
    resp = await oidc_get(fenv, good, "repository:group/app:pull")
    assert resp.status == 200, await resp.text()


async def test_a_deleted_trust_stops_a_token_that_was_verified_before(
    fenv: Env, oidc_issuer: TestIssuer
) -> None:
    token = oidc_issuer.mint(oidc_issuer.github())
    assert (await oidc_get(fenv, token)).status == 200
    await TrustService(fenv.app[SESSIONMAKER]).delete("gh-app")
    fenv.app[SERVICES].trusts.cache.clear()  # what TRUSTS_TTL (1 s) does on its own
    assert (await oidc_get(fenv, token)).status == 401
