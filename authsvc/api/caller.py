"""Who is calling the API: a personal access token, as ``Bearer`` or as a Basic password.

Only personal access tokens authenticate API calls: a password would make every script a
place where the password is kept, and refresh tokens belong to docker clients. The token's
scopes decide what the call may do beyond reading: changing credentials (creating tokens)
needs the ``account:self:*`` scope, so a token made for pulls cannot mint broader tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from authsvc import pats, store
from authsvc.appkeys import SERVICES
from authsvc.authn.basic import parse_basic
from authsvc.authn.types import INVALID_LOGIN, USER_DISABLED
from authsvc.caps import ScopeCap, capped_actions
from authsvc.errors import AuthError, ErrorCode
from authsvc.names import normalize_username
from authsvc.pat_service import PatInvalid
from authsvc.scope import Scope

# The scope a token needs to change its owner's credentials through the API.
MANAGE_SELF = Scope("account", "self", ("*",))


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind the calling token, and the token's caps."""

    user: store.UserRecord
    pat_id: int
    caps: tuple[ScopeCap, ...]

    def may_manage_credentials(self) -> bool:
        """Whether the token carries ``account:self:*``."""
        return capped_actions(self.caps, MANAGE_SELF, MANAGE_SELF.actions) == ("*",)


NEED_TOKEN = "a personal access token is required (Authorization: Bearer TOKEN)"


def _unauthorized(message: str = INVALID_LOGIN) -> AuthError:
    # The error middleware adds the Basic challenge: user:TOKEN as Basic credentials works too.
    return AuthError(ErrorCode.UNAUTHORIZED, message)


async def api_caller(request: web.Request) -> Caller:
    """The caller of this request, or 401."""
    values = request.headers.getall("Authorization", [])
    if len(values) != 1:
        raise _unauthorized(NEED_TOKEN)
    header = values[0]
    username: str | None = None
    if header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    else:
        try:
            credentials = parse_basic(header, service="")
        except AuthError:
            raise _unauthorized(NEED_TOKEN) from None
        username, secret = credentials.username, credentials.secret
    if not pats.well_formed(secret):
        raise _unauthorized()
    try:
        valid = await request.app[SERVICES].pats.resolve(secret)
    except PatInvalid as exc:
        raise _unauthorized(str(exc)) from None
    if username is not None:
        try:
            presented = normalize_username(username)
        except ValueError:
            raise _unauthorized() from None
        if presented.lower() != valid.user.name.lower():
            raise _unauthorized()
    if valid.user.disabled:
        raise _unauthorized(USER_DISABLED)
    return Caller(valid.user, valid.pat_id, valid.caps)
