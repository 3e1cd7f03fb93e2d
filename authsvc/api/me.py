"""``/api/v1/me``: self-service for the owner of the calling personal access token.

``GET /api/v1/me`` says who the caller is; ``/api/v1/me/pats`` lists, creates and revokes the
caller's own tokens through ``PatService``, the code the CLI and the account page run too.
Creating a token needs the calling token to carry ``account:self:*``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from authsvc import store
from authsvc.api.caller import api_caller
from authsvc.appkeys import SERVICES
from authsvc.caps import CapError
from authsvc.errors import AuthError, ErrorCode
from authsvc.models import utcnow
from authsvc.pat_service import pat_to_dict
from svckit.settings import SettingError, parse_duration

routes = web.RouteTableDef()

MAX_BODY = 16 * 1024


def _invalid(message: str) -> AuthError:
    return AuthError(ErrorCode.REQUEST_INVALID, message)


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise _invalid("the body must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _invalid("the body is too large")
    try:
        body = await request.json()
    except ValueError:
        raise _invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    return body


@routes.get("/api/v1/me")
async def get_me(request: web.Request) -> web.Response:
    """The calling token's owner."""
    caller = await api_caller(request)
    lookup = await request.app[SERVICES].local.lookup(caller.user.name)
    groups = sorted(lookup.identity.groups) if lookup.identity else []
    return web.json_response(
        {"name": caller.user.name, "source": caller.user.source, "groups": groups}
    )


@routes.get("/api/v1/me/pats")
async def list_my_pats(request: web.Request) -> web.Response:
    """The caller's tokens (never their secrets)."""
    caller = await api_caller(request)
    records = await request.app[SERVICES].pats.list(caller.user.name)
    now = utcnow()
    return web.json_response([pat_to_dict(r, now) for r in records])


@routes.post("/api/v1/me/pats")
async def create_my_pat(request: web.Request) -> web.Response:
    """Create a token for the caller: ``{"name", "scopes": [...], "expires_in": "30d"}``."""
    caller = await api_caller(request)
    if not caller.may_manage_credentials():
        raise AuthError(ErrorCode.DENIED, "creating tokens needs a token with account:self:*")
    body = await _json_object(request)
    name, scopes, expires = body.get("name"), body.get("scopes"), body.get("expires_in")
    if not isinstance(name, str):
        raise _invalid("name: a string is required")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise _invalid("scopes: a list of strings is required")
    expires_in = None
    if expires is not None:
        try:
            expires_in = dt.timedelta(seconds=parse_duration(expires, "expires_in"))
        except SettingError as exc:
            raise _invalid(str(exc)) from None
    try:
        record, secret = await request.app[SERVICES].pats.create(
            caller.user.name, name=name, scopes=scopes, expires_in=expires_in
        )
    except (CapError, ValueError) as exc:
        raise _invalid(str(exc)) from None
    return web.json_response({**pat_to_dict(record, utcnow()), "secret": secret}, status=201)


@routes.delete("/api/v1/me/pats/{pat_id:[0-9]{1,18}}")
async def revoke_my_pat(request: web.Request) -> web.Response:
    """Revoke one of the caller's tokens (another user's id is answered as unknown)."""
    caller = await api_caller(request)
    try:
        await request.app[SERVICES].pats.revoke(
            int(request.match_info["pat_id"]), owner_id=caller.user.id
        )
    except store.NotFound as exc:
        raise AuthError(ErrorCode.NOT_FOUND, str(exc)) from None
    return web.Response(status=204)
