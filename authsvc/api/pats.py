"""``/api/v1/pats``: every user's personal access tokens (``authsvc pat ...``), via PatService.

A token's secret appears once, in the answer that created it; listings never hold it.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web

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
from authsvc.api.schema import Schema, array, integer, nullable, obj, string
from authsvc.caps import MAX_CAPS
from authsvc.models import utcnow
from authsvc.pat_service import MAX_NAME_LENGTH, parse_lifetime, pat_to_dict

api = ApiRoutes("pats", "Personal access tokens of every user (`authsvc pat`)")

PAT_ID = integer(minimum=1, maximum=10**18 - 1)
TIME = string(fmt="date-time", max_length=64)
USER_NAME = string("a user name", min_length=1, max_length=255)
SCOPES = array(
    string("type:name-pattern:actions, e.g. repository:team/*:pull", max_length=512),
    "what the token may be used for at most", min_items=1, max_items=MAX_CAPS,
)  # fmt: skip
PAT_FIELDS: dict[str, Schema] = {
    "id": PAT_ID,
    "user": USER_NAME,
    "name": string(max_length=MAX_NAME_LENGTH),
    "scopes": array(string(max_length=512), max_items=MAX_CAPS),
    "created_at": TIME,
    "expires_at": nullable(TIME),
    "last_used_at": nullable(TIME),
    "status": string(enum=("active", "revoked", "expired")),
}
PAT = api.component("Pat", obj(PAT_FIELDS, list(PAT_FIELDS)))
SECRET = string("the secret, shown only in this answer", max_length=64)
NEW_PAT = api.component("NewPat", obj({**PAT_FIELDS, "secret": SECRET}, [*PAT_FIELDS, "secret"]))
TOKEN_FIELDS: dict[str, Schema] = {
    "name": string("a label, such as ci", min_length=1, max_length=MAX_NAME_LENGTH),
    "scopes": SCOPES,
    "expires_in": string("a lifetime such as 30d or 12h (default: never)", max_length=32),
}


def expires_in(value: str | None) -> dt.timedelta | None:
    """``30d``, ``12h``; absent (or ``never``) is a token that never expires."""
    return parse_lifetime(value, "expires_in")


@api.route(
    "GET", "/api/v1/pats", summary="List tokens (never their secrets)",
    params=[Param("user", "query", USER_NAME, "only this user's tokens"), *page_params(PAT_ID)],
    response=page_of(PAT, PAT_ID), errors=[404],
)  # fmt: skip
async def list_pats(call: Call) -> web.Response:
    """A page of tokens, oldest first (404 for an unknown ``user``)."""
    limit = call.query.get("limit", 100)
    records = await call.admin.pats.list(
        call.query.get("user"), after=call.query.get("after"), limit=limit + 1
    )
    now = utcnow()
    return json_response(page([pat_to_dict(r, now) for r in records], limit, lambda p: p["id"]))


@api.route(
    "POST", "/api/v1/pats", summary="Create a token for a user", status=201, errors=[404],
    body=obj({"user": USER_NAME, **TOKEN_FIELDS}, ["user", "name", "scopes"]),
    response=NEW_PAT,
)  # fmt: skip
async def create_pat(call: Call) -> web.Response:
    """Create a token; the answer holds its secret, which nothing shows again."""
    body = call.body
    record, secret = await call.admin.pats.create(
        body["user"], name=body["name"], scopes=body["scopes"],
        expires_in=expires_in(body.get("expires_in")),
    )  # fmt: skip
    call.audit(
        "pat create", user=record.owner, name=record.name, scope=body["scopes"],
        expires=body.get("expires_in"),
    )  # fmt: skip
    return json_response({**pat_to_dict(record, utcnow()), "secret": secret}, status=201)


ID_PARAM = Param("id", "path", PAT_ID, required=True)


@api.route("GET", "/api/v1/pats/{id}", summary="Show a token", params=[ID_PARAM], response=PAT)
async def get_pat(call: Call) -> web.Response:
    """One token (never its secret)."""
    return json_response(pat_to_dict(await call.admin.pats.get(call.path["id"]), utcnow()))


@api.route("DELETE", "/api/v1/pats/{id}", summary="Revoke a token", params=[ID_PARAM], status=204)
async def revoke_pat(call: Call) -> web.Response:
    """Revoke a token: refused everywhere within a second."""
    await call.admin.pats.revoke(call.path["id"])
    call.audit("pat revoke", id=call.path["id"])
    return no_content()
