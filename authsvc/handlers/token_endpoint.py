"""The token endpoint: ``GET /auth`` (Docker token spec) and ``POST /auth`` (OAuth2 grants).

GET follows distribution's ``docs/spec/auth/token.md``, POST follows ``docs/spec/auth/oauth.md``
and RFC 6749 §4.3 (password grant) / §6 (refresh grant), plus RFC 8693 token exchange for
OpenID Connect ID tokens (``authsvc.authn.federation``). Parameter checks come first (400), then
authentication (401 for GET, ``invalid_grant`` for POST), then the ACL downscopes the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from authsvc.access_tokens import IssuedToken
from authsvc.appkeys import ACCESS, ACCESS_TOKENS, AUTHENTICATORS, REFRESH_TOKENS
from authsvc.authn import CredentialKind, Credentials, Identity
from authsvc.authn.basic import parse_basic
from authsvc.authn.types import BackendUnavailable
from authsvc.errors import AuthError, ErrorCode
from authsvc.handlers.audit_trail import TokenAudit
from authsvc.names import normalize_username
from authsvc.scope import Scope, ScopeError, parse_requested_scopes
from authsvc.store import StoreUnavailable
from svckit.settings import SettingError, parse_bool

routes = web.RouteTableDef()

MAX_CLIENT_ID = 255
_FORM = "application/x-www-form-urlencoded"
# RFC 8693 §2.1 and §3: the grant, the subject token types an ID token may be announced as, and
# the one token type issued (an access token for the registry).
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPES = (
    "urn:ietf:params:oauth:token-type:id_token",
    "urn:ietf:params:oauth:token-type:jwt",
)
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
GRANT_TYPES = ("password", "refresh_token", TOKEN_EXCHANGE)


def parse_scope_params(values: Iterable[str]) -> tuple[Scope, ...]:
    """Parse repeated and/or space-joined scope values; raise SCOPE_INVALID (400)."""
    try:
        return parse_requested_scopes(values)
    except ScopeError as exc:
        raise AuthError(ErrorCode.SCOPE_INVALID, f"invalid scope: {exc}") from None


def query_bool(params: MultiMapping[str], name: str) -> bool:
    """A boolean query parameter, read as Go's strconv.ParseBool does (Distribution)."""
    try:
        return parse_bool(params.get(name, ""), name)
    except SettingError:
        raise AuthError(ErrorCode.REQUEST_INVALID, f"{name} must be true or false") from None


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


def normalize_username_or_401(username: str) -> str:
    """Normalise a Basic user name; a name that cannot exist fails like a wrong password."""
    try:
        return normalize_username(username)
    except ValueError:
        raise AuthError(ErrorCode.UNAUTHORIZED, "invalid username or password") from None


def token_response(body: dict[str, Any]) -> web.Response:
    """A 200 JSON token response that no cache keeps (RFC 6749 §5.1)."""
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def timing(issued: IssuedToken) -> dict[str, Any]:
    """``expires_in`` as a JSON integer and ``issued_at`` as RFC 3339: what real clients parse."""
    return {"expires_in": issued.expires_in, "issued_at": issued.issued_at_rfc3339}


async def issue_access_token(
    request: web.Request,
    identity: Identity | None,
    service: str,
    scopes: tuple[Scope, ...],
    audit: TokenAudit,
) -> IssuedToken:
    """Decide the scopes (the same decision ``acl check`` explains), sign, and audit it."""
    decision = await request.app[ACCESS].decide(identity, service, scopes)
    issued = request.app[ACCESS_TOKENS].issue(
        identity, service, decision.access, catalog=decision.catalog
    )
    if identity is not None:
        audit.subject = identity.name
        audit.federation = identity.federation
    audit.issued(request, decision, issued)
    return issued


def may_get_refresh_token(identity: Identity | None) -> bool:
    """Only a password login gets a refresh token; one presented as a credential is not rotated."""
    return (
        identity is not None
        and identity.kind is CredentialKind.PASSWORD
        and identity.user_id is not None
    )


async def _audited(
    request: web.Request,
    handler: Callable[[web.Request, TokenAudit], Awaitable[web.Response]],
) -> web.Response:
    """Run a token handler with its audit row; a refusal is recorded before it propagates."""
    audit = TokenAudit.of(request)
    try:
        return await handler(request, audit)
    except AuthError as exc:
        audit.refused(request, exc)
        raise
    except (StoreUnavailable, BackendUnavailable):
        # The middleware answers 503; the row says the request was refused for an outage.
        audit.refused(request, AuthError(ErrorCode.UNAVAILABLE))
        raise


@routes.get("/auth")
async def get_token(request: web.Request) -> web.Response:
    """Issue a token for Basic credentials, a ``:refresh-token`` password, or anonymously."""
    return await _audited(request, _get_token)


async def _get_token(request: web.Request, audit: TokenAudit) -> web.Response:
    query = request.query
    audit.service = query.get("service", "")
    service = request.app[ACCESS].check_service(query.get("service"))
    scopes = parse_scope_params(query.getall("scope", []))
    audit.attempt("", service, scopes)
    offline = query_bool(query, "offline_token")
    client_id = audit.client_id = parse_client_id(query.get("client_id"))
    identity: Identity | None = None
    header = request.headers.get("Authorization")
    if header is not None:
        audit.grant = "basic"
        credentials = replace(parse_basic(header, service=service), address=audit.address)
        audit.attempt(credentials.username, service, scopes)
        if credentials.username:
            # Compare before verifying, so a mismatch costs no argon2 run.
            check_account(query.get("account"), normalize_username_or_401(credentials.username))
        identity = await request.app[AUTHENTICATORS].authenticate(credentials)
        if identity.federation is None:
            # A federated login's account is the Basic user name `oidc`, checked above.
            check_account(query.get("account"), identity.name)
    issued = await issue_access_token(request, identity, service, scopes, audit)
    body: dict[str, Any] = {"token": issued.token, "access_token": issued.token, **timing(issued)}
    if offline and identity is not None and may_get_refresh_token(identity):
        assert identity.user_id is not None
        body["refresh_token"] = await request.app[REFRESH_TOKENS].issue(
            user_id=identity.user_id, service=service, client_id=client_id
        )
    return token_response(body)


async def read_form(request: web.Request) -> MultiMapping[str]:
    """Read the form body; OAuth2 token requests are form-encoded (RFC 6749 §4.3.2)."""
    if request.content_type != _FORM:
        raise AuthError(ErrorCode.REQUEST_INVALID, f"the request body must be {_FORM}")
    try:
        form = await request.post()
    except UnicodeDecodeError:
        # RFC 6749 §B: form values are UTF-8; aiohttp's decoder raises on anything else.
        raise AuthError(ErrorCode.REQUEST_INVALID, "the form is not UTF-8") from None
    if any(not isinstance(v, str) for v in form.values()):
        raise AuthError(ErrorCode.REQUEST_INVALID, "unexpected file upload")
    return form  # type: ignore[return-value]


def required(form: MultiMapping[str], name: str) -> str:
    """A parameter that must be present and non-empty (else ``invalid_request``)."""
    value = form.get(name, "")
    if not value:
        raise AuthError(ErrorCode.REQUEST_INVALID, f"{name} is required")
    return value


def grant_credentials(
    form: MultiMapping[str], grant_type: str, service: str, address: str = ""
) -> Credentials:
    """The credentials a grant carries (RFC 6749 §4.3.2 password, §6 refresh_token, RFC 8693)."""
    if grant_type == TOKEN_EXCHANGE:
        # RFC 8693 §2.1: subject_token and subject_token_type are required; an ID token may be
        # announced as an id_token or as a plain JWT (GitLab's and GitHub's are both).
        token, token_type = required(form, "subject_token"), required(form, "subject_token_type")
        if token_type not in SUBJECT_TOKEN_TYPES:
            raise AuthError(
                ErrorCode.REQUEST_INVALID, f"unsupported subject_token_type {token_type!r}"
            )
        requested = form.get("requested_token_type", ACCESS_TOKEN_TYPE)
        if requested != ACCESS_TOKEN_TYPE:
            raise AuthError(ErrorCode.REQUEST_INVALID, "only access tokens are issued")
        return Credentials(CredentialKind.ID_TOKEN, "oidc", token, service, address)
    if grant_type == "password":
        username, password = required(form, "username"), required(form, "password")
        return Credentials(CredentialKind.PASSWORD, username, password, service, address)
    secret = required(form, "refresh_token")
    return Credentials(CredentialKind.REFRESH_TOKEN, "", secret, service, address)


@routes.post("/auth")
async def post_token(request: web.Request) -> web.Response:
    """The OAuth2 token endpoint: ``password``, ``refresh_token`` and token-exchange grants."""
    return await _audited(request, _post_token)


async def _post_token(request: web.Request, audit: TokenAudit) -> web.Response:
    form = await read_form(request)
    audit.service = form.get("service", "")
    grant_type = required(form, "grant_type")
    if grant_type not in GRANT_TYPES:
        audit.grant = "unsupported"
        raise AuthError(ErrorCode.GRANT_UNSUPPORTED, f"unsupported grant_type {grant_type!r}")
    exchange = grant_type == TOKEN_EXCHANGE
    audit.grant = "token_exchange" if exchange else grant_type
    # RFC 8693 §2.1 names the target `audience`; `service` is what Docker clients send.
    service = request.app[ACCESS].check_service(
        form.get("service") or (form.get("audience") if exchange else None)
    )
    # RFC 8693 does not require client authentication, so no client_id is required with it.
    client_id = form.get("client_id") if exchange else required(form, "client_id")
    client_id = audit.client_id = parse_client_id(client_id)
    scopes = parse_scope_params(form.getall("scope", []))
    audit.attempt("oidc" if exchange else form.get("username", ""), service, scopes)
    access_type = form.get("access_type", "online")
    if access_type not in ("online", "offline"):
        raise AuthError(ErrorCode.REQUEST_INVALID, "access_type must be online or offline")
    credentials = grant_credentials(form, grant_type, service, audit.address)
    identity = await request.app[AUTHENTICATORS].authenticate(credentials)
    issued = await issue_access_token(request, identity, service, scopes, audit)
    body: dict[str, Any] = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.scope,
        **timing(issued),
    }
    if exchange:
        # RFC 8693 §2.2.1; and never a refresh token (may_get_refresh_token says no as well).
        body["issued_token_type"] = ACCESS_TOKEN_TYPE
        return token_response(body)
    if access_type == "offline" and may_get_refresh_token(identity):
        assert identity.user_id is not None
        body["refresh_token"] = await request.app[REFRESH_TOKENS].issue(
            user_id=identity.user_id, service=service, client_id=client_id
        )
    return token_response(body)
