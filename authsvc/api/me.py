"""``/api/v1/me``: self-service for the owner of the calling personal access token.

``GET /api/v1/me`` says who the caller is; ``/api/v1/me/pats`` lists, creates and revokes the
caller's own tokens through ``PatService``, the code the CLI and the account page run too, and
``/api/v1/me/password`` changes a local user's password. Changing credentials needs the calling
token to carry ``account:self:*``; changing the password also needs the current password,
checked through the login throttle like any login, so a stolen token alone cannot take over the
account.
"""

from __future__ import annotations

from aiohttp import web

from authsvc.api.pats import NEW_PAT, PAT, PAT_ID, TOKEN_FIELDS, expires_in
from authsvc.api.routing import (
    ApiRoutes,
    Call,
    Param,
    json_response,
    no_content,
    page,
    page_of,
    page_params,
)
from authsvc.api.schema import array, obj, string
from authsvc.appkeys import SERVICES
from authsvc.authn.types import CredentialKind, Credentials
from authsvc.errors import AuthError, ErrorCode
from authsvc.handlers.audit_trail import request_address
from authsvc.models import utcnow
from authsvc.passwords import MAX_PASSWORD_LENGTH
from authsvc.pat_service import pat_to_dict

api = ApiRoutes("me", "Self-service for the calling token's owner")

ME = api.component(
    "Me",
    obj(
        {
            "name": string(max_length=255),
            "source": string("local, ldap, oidc or robot", max_length=32),
            "groups": array(string(max_length=255), max_items=1_000_000),
        },
        ["name", "source", "groups"],
    ),
)
PASSWORD = string(min_length=1, max_length=MAX_PASSWORD_LENGTH)


@api.route("GET", "/api/v1/me", summary="Who am I", access="self", response=ME)
async def get_me(call: Call) -> web.Response:
    """The calling token's owner and their groups."""
    user = call.caller.user
    lookup = await call.request.app[SERVICES].local.lookup(user.name)
    groups = sorted(lookup.identity.groups) if lookup.identity else []
    return json_response({"name": user.name, "source": user.source, "groups": groups})


@api.route(
    "GET", "/api/v1/me/pats", summary="List my tokens", access="self",
    params=page_params(PAT_ID), response=page_of(PAT, PAT_ID),
)  # fmt: skip
async def list_my_pats(call: Call) -> web.Response:
    """A page of the caller's tokens, oldest first (never their secrets)."""
    limit = call.query.get("limit", 100)
    records = await call.admin.pats.list(
        call.caller.user.name, after=call.query.get("after"), limit=limit + 1
    )
    now = utcnow()
    return json_response(page([pat_to_dict(r, now) for r in records], limit, lambda p: p["id"]))


@api.route(
    "POST", "/api/v1/me/pats", summary="Create a token for myself", access="manage_self",
    status=201, body=obj(TOKEN_FIELDS, ["name", "scopes"]), response=NEW_PAT,
)  # fmt: skip
async def create_my_pat(call: Call) -> web.Response:
    """Create a token for the caller; the answer holds its secret, which nothing shows again."""
    body = call.body
    record, secret = await call.admin.pats.create(
        call.caller.user.name, name=body["name"], scopes=body["scopes"],
        expires_in=expires_in(body.get("expires_in")),
    )  # fmt: skip
    call.audit(
        "pat create", user=record.owner, name=record.name, scope=body["scopes"],
        expires=body.get("expires_in"),
    )  # fmt: skip
    return json_response({**pat_to_dict(record, utcnow()), "secret": secret}, status=201)


@api.route(
    "DELETE", "/api/v1/me/pats/{id}", summary="Revoke one of my tokens", access="self",
    params=[Param("id", "path", PAT_ID, required=True)], status=204,
)  # fmt: skip
async def revoke_my_pat(call: Call) -> web.Response:
    """Revoke one of the caller's tokens (another user's id is answered as unknown)."""
    await call.admin.pats.revoke(call.path["id"], owner_id=call.caller.user.id)
    call.audit("pat revoke", id=call.path["id"])
    return no_content()


@api.route(
    "POST", "/api/v1/me/password", summary="Change my password", access="manage_self",
    status=204, errors=[409],
    body=obj(
        {"current_password": PASSWORD, "new_password": PASSWORD},
        ["current_password", "new_password"],
    ),
)  # fmt: skip
async def change_my_password(call: Call) -> web.Response:
    """Change a local user's password (409 for accounts whose password lives elsewhere).

    The current password is checked as a login is (a wrong one counts towards the login
    throttle and answers 403); the change revokes the user's refresh tokens.
    """
    user = call.caller.user
    if user.source != "local":
        raise AuthError(
            ErrorCode.CONFLICT, f"the password of a {user.source} account is not kept here"
        )
    current = Credentials(
        CredentialKind.PASSWORD, user.name, call.body["current_password"], service="",
        address=request_address(call.request),
    )  # fmt: skip
    try:
        identity = await call.request.app[SERVICES].authenticators.authenticate(current)
    except AuthError as exc:
        if exc.code is not ErrorCode.UNAUTHORIZED:
            raise
        identity = None
    # A PAT-shaped "password" authenticates as a token: only the password itself counts.
    if identity is None or identity.kind is not CredentialKind.PASSWORD:
        raise AuthError(ErrorCode.DENIED, "the current password is wrong")
    await call.admin.users.set_password(user.name, call.body["new_password"])
    call.audit("user passwd", name=user.name)
    return no_content()
