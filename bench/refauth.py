"""The reference token server for T1 and T2: ``python -m bench.refauth``.

It is the smallest aiohttp app that does what a token request cannot do without: parse the
same form (POST) or query and Basic header (GET), sign the same ES256 claims with the same
JOSE header (``kid`` and the ``x5c`` chain) and answer the same JSON. It checks nothing: no
credential, refresh token, ACL, audit row, metric or access log. Measured in the same run as
authsvc, it turns T1 and T2 into fractions that do not move with the machine, and the rest of
the fraction is what authsvc's checks and bookkeeping cost (bench/README.md).

It runs on uvloop when installed, as ``authsvc serve`` does, so the loop is not a difference.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import datetime as dt
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# What authsvc puts in a token (authsvc/jwt_signer.py): 5 minutes, nbf back-dated by 10 s.
TTL = 300
NBF_SKEW = 10
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def access_of(scopes: Iterable[str]) -> list[dict[str, Any]]:
    """``type:name:actions`` scopes as the token's ``access`` claim, everything granted."""
    access = []
    for scope in scopes:
        for item in scope.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
    return access


class Signer:
    """ES256 signing with the header authsvc sends (kid and x5c), built once."""

    def __init__(self, key: Path, cert: Path, kid: str, issuer: str) -> None:
        """Load the key and the certificate chain."""
        loaded = serialization.load_pem_private_key(key.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"{key}: not an EC key (the bench signs with ES256)")
        self._key = loaded
        chain = x509.load_pem_x509_certificates(cert.read_bytes())
        x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
        self._headers = {"kid": kid, "x5c": x5c}
        self._issuer = issuer

    def token(self, subject: str, service: str, scopes: Iterable[str]) -> tuple[str, int]:
        """A signed access token and its issue time."""
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "sub": subject,
            "aud": service,
            "exp": now + TTL,
            "nbf": now - NBF_SKEW,
            "iat": now,
            "jti": secrets.token_urlsafe(18),
            "access": access_of(scopes),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers=self._headers), now


SIGNER = web.AppKey("signer", Signer)


def rfc3339(now: int) -> str:
    """``issued_at`` as authsvc writes it."""
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def basic_user(header: str | None) -> str:
    """The user name of a Basic header (the password is not checked)."""
    if not header or not header.startswith("Basic "):
        return ""
    try:
        return base64.b64decode(header[6:]).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return ""


async def post_auth(request: web.Request) -> web.Response:
    """POST /auth: the refresh grant's form in, the same JSON body out."""
    form = await request.post()
    scopes = [str(s) for s in form.getall("scope", [])]
    token, now = request.app[SIGNER].token("bench", str(form.get("service", "")), scopes)
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "scope": " ".join(scopes),
        "expires_in": TTL,
        "issued_at": rfc3339(now),
    }
    return web.json_response(body, headers=NO_STORE)


async def get_auth(request: web.Request) -> web.Response:
    """GET /auth: Basic credentials and the query in, the same JSON body out."""
    user = basic_user(request.headers.get("Authorization"))
    scopes = request.query.getall("scope", [])
    token, now = request.app[SIGNER].token(user, request.query.get("service", ""), scopes)
    body = {"token": token, "access_token": token, "expires_in": TTL, "issued_at": rfc3339(now)}
    return web.json_response(body, headers=NO_STORE)


async def ready(request: web.Request) -> web.Response:
    """GET /readyz, which the suite waits for."""
    return web.json_response({"status": "ok"})


def create_app(signer: Signer) -> web.Application:
    """The three routes."""
    app = web.Application()
    app[SIGNER] = signer
    app.router.add_post("/auth", post_auth)
    app.router.add_get("/auth", get_auth)
    app.router.add_get("/readyz", ready)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT."""
    p = argparse.ArgumentParser(prog="python -m bench.refauth", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", type=Path, required=True)
    p.add_argument("--cert", type=Path, required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--issuer", required=True)
    args = p.parse_args(argv)
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    app = create_app(Signer(args.key, args.cert, args.kid, args.issuer))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
