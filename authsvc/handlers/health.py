"""``GET /healthz`` (the process is alive) and ``GET /readyz`` (database reachable, key loaded)."""

from __future__ import annotations

from aiohttp import web

from authsvc import store
from authsvc.appkeys import DATABASE_FILE, JWKS, SESSIONMAKER, SIGNER
from authsvc.errors import AuthError, ErrorCode

routes = web.RouteTableDef()


@routes.get("/healthz")
async def get_health(request: web.Request) -> web.Response:
    """Liveness: answers as long as the event loop runs."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def get_ready(request: web.Request) -> web.Response:
    """Readiness: the signing key is loaded and the database answers (else 503 via middleware)."""
    signer = request.app[SIGNER]
    watch = request.app[DATABASE_FILE]
    if watch.changed():
        raise AuthError(
            ErrorCode.UNAVAILABLE,
            f"the database file {watch.path} is missing or was replaced; restart authsvc",
        )
    async with store.transaction(request.app[SESSIONMAKER], commit=False) as session:
        await store.ping(session)
    return web.json_response({"status": "ready", "alg": signer.alg, "kid": signer.kid})


@routes.get("/.well-known/jwks.json")
async def get_jwks(request: web.Request) -> web.Response:
    """The public keys tokens are signed with, active and published (RFC 7517 JWK Set).

    For Distribution 3's ``auth.token.jwks`` (save it to a file) and any other verifier. Keys
    change only with a restart, so caches may keep the answer for a few minutes.
    """
    response = web.json_response(request.app[JWKS])
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
