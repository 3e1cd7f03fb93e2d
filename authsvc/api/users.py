"""``/api/v1/users``: what ``authsvc user ...`` does, through ``UserService``."""

from __future__ import annotations

from aiohttp import web

from authsvc.api.routing import (
    ApiRoutes,
    Call,
    json_response,
    no_content,
    page,
    page_of,
    page_params,
)
from authsvc.api.schema import boolean, integer, nullable, obj, string
from authsvc.models import MIN_TOKEN_TTL
from authsvc.passwords import MAX_PASSWORD_LENGTH
from authsvc.user_service import user_to_dict

api = ApiRoutes("users", "Local users (`authsvc user`)")

NAME = string("a user name", min_length=1, max_length=255)
TIME = string(fmt="date-time", max_length=64)
PASSWORD = string("at least 1 character", min_length=1, max_length=MAX_PASSWORD_LENGTH)
# The column is a 32-bit integer on PostgreSQL.
TOKEN_TTL = integer(
    "access-token lifetime in seconds, overriding AUTHSVC_TOKEN_TTL", minimum=MIN_TOKEN_TTL,
    maximum=2**31 - 1,
)  # fmt: skip
USER = api.component(
    "User",
    obj(
        {
            "id": integer(minimum=1, maximum=2**63 - 1),
            "name": NAME,
            "admin": boolean(),
            "disabled": boolean(),
            "created_at": TIME,
            "updated_at": TIME,
            "last_login_at": nullable(TIME),
            "source": string("local, ldap, oidc or robot", max_length=32),
            "token_ttl": nullable(TOKEN_TTL),
        },
        [
            "id",
            "name",
            "admin",
            "disabled",
            "created_at",
            "updated_at",
            "last_login_at",
            "source",
            "token_ttl",
        ],
    ),
)
GENERATED = string("the generated password, shown only in this answer", max_length=64)


@api.route(
    "GET", "/api/v1/users", summary="List users by name",
    params=page_params(NAME), response=page_of(USER, NAME),
)  # fmt: skip
async def list_users(call: Call) -> web.Response:
    """A page of users, ordered by name."""
    limit = call.query.get("limit", 100)
    users = await call.admin.users.list(after=call.query.get("after"), limit=limit + 1)
    result = page([user_to_dict(u) for u in users], limit, lambda u: u["name"])
    return json_response(result)


@api.route(
    "POST", "/api/v1/users", summary="Create a user", status=201, errors=[409],
    body=obj(
        {
            "name": NAME, "password": PASSWORD, "admin": boolean("an administrator"),
            "token_ttl": TOKEN_TTL,
        },
        ["name"],
    ),
    response=obj({"user": USER, "password": GENERATED}, ["user"]),
)  # fmt: skip
async def create_user(call: Call) -> web.Response:
    """Create a user; without a password one is generated and returned once."""
    admin, token_ttl = bool(call.body.get("admin", False)), call.body.get("token_ttl")
    user, generated = await call.admin.users.add(
        call.body["name"], call.body.get("password"), admin=admin, token_ttl=token_ttl
    )
    call.audit("user add", name=user.name, admin=admin, token_ttl=token_ttl)
    answer: dict[str, object] = {"user": user_to_dict(user)}
    if generated is not None:
        answer["password"] = generated
    return json_response(answer, status=201)


@api.route("GET", "/api/v1/users/{name}", summary="Show a user", response=USER)
async def get_user(call: Call) -> web.Response:
    """One user."""
    return json_response(user_to_dict(await call.admin.users.get(call.path["name"])))


@api.route(
    "PATCH", "/api/v1/users/{name}", summary="Change a user's state or token lifetime",
    response=USER,
    body=obj(
        {
            "disabled": boolean("disabling revokes the user's refresh tokens"),
            "token_ttl": nullable({**TOKEN_TTL, "description": "null: the server's setting"}),
        }
    ),
)  # fmt: skip
async def update_user(call: Call) -> web.Response:
    """Disable (revoking refresh tokens) or enable a user, and/or set its token lifetime."""
    users = call.admin.users
    user = await users.get(call.path["name"])
    if not call.body:
        raise ValueError("give disabled, token_ttl or both")
    if "disabled" in call.body:
        disabled = bool(call.body["disabled"])
        await users.set_disabled(user.name, disabled)
        call.audit(f"user {'disable' if disabled else 'enable'}", name=user.name)
    if "token_ttl" in call.body:
        token_ttl = call.body["token_ttl"]
        await users.set_token_ttl(user.name, token_ttl)
        call.audit("user token-ttl", name=user.name, ttl=token_ttl or "default")
    return json_response(user_to_dict(await users.get(user.name)))


@api.route(
    "POST", "/api/v1/users/{name}/password", summary="Set a user's password",
    body=obj({"password": PASSWORD}),
    response=obj(
        {
            "refresh_tokens_revoked": integer(minimum=0, maximum=2**63 - 1),
            "password": GENERATED,
        },
        ["refresh_tokens_revoked"],
    ),
)  # fmt: skip
async def set_user_password(call: Call) -> web.Response:
    """Replace a password (generated and returned once when none is given)."""
    user = await call.admin.users.get(call.path["name"])
    revoked, generated = await call.admin.users.set_password(user.name, call.body.get("password"))
    call.audit("user passwd", name=user.name)
    answer: dict[str, object] = {"refresh_tokens_revoked": revoked}
    if generated is not None:
        answer["password"] = generated
    return json_response(answer)


@api.route("DELETE", "/api/v1/users/{name}", summary="Delete a user", status=204)
async def delete_user(call: Call) -> web.Response:
    """Delete a user with their memberships and tokens."""
    user = await call.admin.users.get(call.path["name"])
    await call.admin.users.delete(user.name)
    call.audit("user delete", name=user.name)
    return no_content()
