"""Who is calling the API: a personal access token, as ``Bearer`` or as a Basic password.

Only personal access tokens authenticate API calls: a password would make every script a
place where the password is kept, and refresh tokens belong to docker clients. The token goes
through the same login throttle and authenticator as ``GET /auth`` (``services.authenticators``),
so a revoked or expired token, a disabled owner, a wrong user name and a blocked address are
refused exactly as there. The token's scopes decide what the call may do beyond reading:

- changing its owner's credentials (``/api/v1/me`` writes) needs ``account:self:*``;
- the admin API needs an administrator's token carrying ``api:admin:*``, so a pull token that
  an administrator made for CI cannot change users or rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from authsvc import pats, store
from authsvc.appkeys import SERVICES
from authsvc.authn.basic import parse_basic
from authsvc.authn.types import INVALID_LOGIN, CredentialKind, Credentials
from authsvc.caps import ScopeCap, capped_actions
from authsvc.errors import AuthError, ErrorCode
from authsvc.handlers.audit_trail import request_address
from authsvc.pat_service import PatInvalid
from authsvc.scope import Scope

# The scope a token needs to change its owner's credentials through the API.
MANAGE_SELF = Scope("account", "self", ("*",))
# The scope an administrator's token needs for the admin API.
ADMINISTER = Scope("api", "admin", ("*",))
NEED_TOKEN = "a personal access token is required (Authorization: Bearer TOKEN)"


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind the calling token, and the token's caps."""

    user: store.UserRecord
    pat_id: int
    caps: tuple[ScopeCap, ...]

    def _carries(self, scope: Scope) -> bool:
        return capped_actions(self.caps, scope, scope.actions) == scope.actions

    def may_manage_credentials(self) -> bool:
        """Whether the token carries ``account:self:*``."""
        return self._carries(MANAGE_SELF)

    def may_administer(self) -> bool:
        """Whether the owner is an administrator and the token carries ``api:admin:*``."""
        return self.user.admin and self._carries(ADMINISTER)


def _unauthorized(message: str = INVALID_LOGIN) -> AuthError:
    # The error middleware adds the Basic challenge: user:TOKEN as Basic credentials works too.
    return AuthError(ErrorCode.UNAUTHORIZED, message)


def _credentials(request: web.Request) -> Credentials:
    values = request.headers.getall("Authorization", [])
    if len(values) != 1:
        raise _unauthorized(NEED_TOKEN)
    header = values[0]
    address = request_address(request)
    if header[:7].lower() == "bearer ":
        secret = header[7:].strip()
        kind, username = CredentialKind.PERSONAL_ACCESS_TOKEN, ""
    else:
        try:
            basic = parse_basic(header, service="")
        except AuthError:
            raise _unauthorized(NEED_TOKEN) from None
        kind, username, secret = CredentialKind.PASSWORD, basic.username, basic.secret
    if not pats.looks_like_pat(secret):
        # A password never authenticates the API, and costs no argon2id verification here.
        raise _unauthorized(NEED_TOKEN)
    return Credentials(kind, username, secret, service="", address=address)


async def api_caller(request: web.Request) -> Caller:
    """The caller of this request, or 401 (429 while the login throttle blocks the client)."""
    credentials = _credentials(request)
    services = request.app[SERVICES]
    await services.authenticators.authenticate(credentials)
    try:
        # Cached for a second by the authentication just made: no second query.
        valid = await services.pats.resolve(credentials.secret)
    except PatInvalid as exc:
        raise _unauthorized(str(exc)) from None
    return Caller(valid.user, valid.pat_id, valid.caps)


async def admin_caller(request: web.Request) -> Caller:
    """An administrator's token with ``api:admin:*``, or 401/403."""
    caller = await api_caller(request)
    if not caller.may_administer():
        raise AuthError(
            ErrorCode.DENIED,
            "the admin API needs an administrator's personal access token with api:admin:*",
        )
    return caller
