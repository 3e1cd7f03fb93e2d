"""The token endpoint: ``GET /auth`` (Docker token spec) and ``POST /auth`` (OAuth2 grants).

GET follows distribution's docs/spec/auth/token.md, POST follows docs/spec/auth/oauth.md and
RFC 6749 §4.3 (password grant) / §6 (refresh grant). Parameter checks come first (400), then
authentication (401 for GET, ``invalid_grant`` for POST), then the ACL downscopes the request.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from authsvc.appkeys import AUTHENTICATOR, ISSUER, REFRESH_TOKENS
from authsvc.authn import Identity, parse_basic
from authsvc.errors import AuthError, ErrorCode
from authsvc.issue import IssuedToken
from authsvc.names import normalize_username
from authsvc.scope import Scope, ScopeError, parse_scopes

routes = web.RouteTableDef()

MAX_SCOPES = 100
MAX_CLIENT_ID = 255
_TRUE = frozenset({"1", "t", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "f", "false", "no", "off"})
_FORM = "application/x-www-form-urlencoded"


def parse_scope_params(values: Iterable[str]) -> tuple[Scope, ...]:
    """Parse repeated and/or space-joined scope values; raise SCOPE_INVALID (400)."""
    try:
        scopes = _parse_cached(tuple(v for v in values if v.strip()))
    except ScopeError as exc:
        raise AuthError(ErrorCode.SCOPE_INVALID, f"invalid scope: {exc}") from None
    if len(scopes) > MAX_SCOPES:
        raise AuthError(ErrorCode.SCOPE_INVALID, f"too many scopes (at most {MAX_SCOPES})")
    return scopes


@functools.lru_cache(maxsize=4096)
def _parse_cached(values: tuple[str, ...]) -> tuple[Scope, ...]:
    # Clients repeat the same few scope strings; parsing is pure, so remember recent results
    # (errors are not cached and are raised again).
    return tuple(parse_scopes(values))


def parse_bool(params: MultiMapping[str], name: str) -> bool:
    """Parse a boolean query parameter the way Go's strconv.ParseBool does (Distribution)."""
    value = params.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise AuthError(ErrorCode.REQUEST_INVALID, f"{name} must be true or false")


def parse_client_id(value: str | None) -> str:
    """Validate a client_id: RFC 6749 Appendix A.1 allows only VSCHAR (%x20-7E)."""
    if value is None:
        return ""
    if len(value) > MAX_CLIENT_ID or not all(" " <= c <= "~" for c in value):
        raise AuthError(ErrorCode.CLIENT_INVALID, "client_id must be printable ASCII")
    return value


def check_account(account: str | None, name: str) -> None:
    """The ``account`` parameter, when given, must name the authenticated user."""
    if not account:
        return
    try:
        same = normalize_username(account) == name
    except ValueError:
        same = False
    if not same:
        raise AuthError(
            ErrorCode.ACCOUNT_MISMATCH, f"account {account!r} is not the signed-in user"
        )


def token_response(body: dict[str, Any]) -> web.Response:
    """A 200 JSON token response that no cache keeps (RFC 6749 §5.1)."""
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def timing(issued: IssuedToken) -> dict[str, Any]:
    """``expires_in`` as a JSON integer and ``issued_at`` as RFC 3339: what real clients parse."""
    return {"expires_in": issued.expires_in, "issued_at": issued.issued_at_rfc3339}


@routes.get("/auth")
async def get_token(request: web.Request) -> web.Response:
    """Issue a token for Basic credentials, a ``:refresh-token`` password, or anonymously."""
    query = request.query
    service = request.app[ISSUER].check_service(query.get("service"))
    scopes = parse_scope_params(query.getall("scope", []))
    offline = parse_bool(query, "offline_token")
    client_id = parse_client_id(query.get("client_id"))
    identity: Identity | None = None
    header = request.headers.get("Authorization")
    if header is not None:
        credentials = parse_basic(header)
        if credentials.username:
            # Compare before verifying, so a mismatch costs no argon2 run.
            check_account(query.get("account"), normalize_username_or_401(credentials.username))
        identity = await request.app[AUTHENTICATOR].authenticate(credentials, service=service)
        check_account(query.get("account"), identity.name)
    issued = await request.app[ISSUER].issue(identity, service, scopes)
    body: dict[str, Any] = {"token": issued.token, "access_token": issued.token, **timing(issued)}
    # A refresh token for a password login only; one presented as password is not rotated.
    if offline and identity is not None and not identity.via_refresh_token:
        body["refresh_token"] = await request.app[REFRESH_TOKENS].issue(
            user_id=identity.user_id, service=service, client_id=client_id
        )
    return token_response(body)


def normalize_username_or_401(username: str) -> str:
    """Normalise a Basic user name; a name that cannot exist fails like a wrong password."""
    try:
        return normalize_username(username)
    except ValueError:
        raise AuthError(ErrorCode.UNAUTHORIZED, "invalid username or password") from None


async def read_form(request: web.Request) -> MultiMapping[str]:
    """Read the form body; OAuth2 token requests are form-encoded (RFC 6749 §4.3.2)."""
    if request.content_type != _FORM:
        raise AuthError(ErrorCode.REQUEST_INVALID, f"the request body must be {_FORM}")
    form = await request.post()
    if any(not isinstance(v, str) for v in form.values()):
        raise AuthError(ErrorCode.REQUEST_INVALID, "unexpected file upload")
    return form  # type: ignore[return-value]


def required(form: MultiMapping[str], name: str) -> str:
    """A parameter that must be present and non-empty (else ``invalid_request``)."""
    value = form.get(name, "")
    if not value:
        raise AuthError(ErrorCode.REQUEST_INVALID, f"{name} is required")
    return value


@routes.post("/auth")
async def post_token(request: web.Request) -> web.Response:
    """The OAuth2 token endpoint: ``password`` and ``refresh_token`` grants."""
    form = await read_form(request)
    grant_type = required(form, "grant_type")
    if grant_type not in ("password", "refresh_token"):
        raise AuthError(ErrorCode.GRANT_UNSUPPORTED, f"unsupported grant_type {grant_type!r}")
    service = request.app[ISSUER].check_service(form.get("service"))
    client_id = parse_client_id(required(form, "client_id"))
    scopes = parse_scope_params(form.getall("scope", []))
    access_type = form.get("access_type", "online")
    if access_type not in ("online", "offline"):
        raise AuthError(ErrorCode.REQUEST_INVALID, "access_type must be online or offline")
    authenticator = request.app[AUTHENTICATOR]
    if grant_type == "password":
        identity = await authenticator.authenticate_password(
            required(form, "username"), required(form, "password")
        )
    else:
        identity = await authenticator.authenticate_refresh_token(
            required(form, "refresh_token"), service=service
        )
    issued = await request.app[ISSUER].issue(identity, service, scopes)
    body: dict[str, Any] = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.scope,
        **timing(issued),
    }
    if grant_type == "password" and access_type == "offline":
        body["refresh_token"] = await request.app[REFRESH_TOKENS].issue(
            user_id=identity.user_id, service=service, client_id=client_id
        )
    return token_response(body)
