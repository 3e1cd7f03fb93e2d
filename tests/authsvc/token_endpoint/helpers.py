"""Helpers of the token-endpoint tests: the running app, requests and error bodies."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient

from authsvc.app import create_app
from authsvc.appkeys import SESSIONMAKER
from authsvc.config import Config
from authsvc.keys import load_certificates
from tests.authsvc.tokenhelpers import (
    ISSUER,
    KeyPair,
    Seeder,
)

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

ALICE, ALICE_PW = "alice", "alice-password"
BOB, BOB_PW = "bob", "bob-password"


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


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert set(error) == {"code", "message", "detail"}
    return dict(error)


def oauth_error(body: dict[str, Any]) -> str:
    assert {"error", "error_description"} <= set(body)
    assert re.fullmatch(r"[\x20\x21\x23-\x5b\x5d-\x7e]*", body["error_description"])
    return str(body["error"])


async def post_refresh(env: Env, secret: str, service: str = "registry") -> Any:
    return await env.post(
        grant_type="refresh_token", refresh_token=secret, service=service, client_id="docker"
    )


async def refresh_token_for(env: Env, user: str, password: str, service: str = "registry") -> str:
    resp = await env.post(
        grant_type="password", username=user, password=password, service=service,
        client_id="test", access_type="offline",
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    token: str = (await resp.json())["refresh_token"]
    return token
