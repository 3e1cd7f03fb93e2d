"""The refresh-token authenticator: a docker identity token stands in for the password."""

from __future__ import annotations

from authsvc.authn.local import LocalAuthenticator
from authsvc.authn.types import (
    Authenticated,
    AuthResult,
    CredentialKind,
    Credentials,
    NotMine,
    WrongCredentials,
)
from authsvc.refresh_tokens import RefreshTokenInvalid, RefreshTokenService


class RefreshTokenAuthenticator:
    """Accepts refresh tokens issued by this server; other credentials are not its business."""

    name = "refresh_token"

    def __init__(self, tokens: RefreshTokenService, users: LocalAuthenticator) -> None:
        """Resolve tokens with ``tokens``; build identities as the local backend does."""
        self._tokens = tokens
        self._users = users

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Resolve the token to its (enabled) user, bound to the requested service."""
        if credentials.kind is not CredentialKind.REFRESH_TOKEN:
            return NotMine()
        try:
            user = await self._tokens.resolve(credentials.secret, service=credentials.service)
        except RefreshTokenInvalid as exc:
            return WrongCredentials(str(exc))
        identity = await self._users.identity_of(user, CredentialKind.REFRESH_TOKEN)
        return Authenticated(identity)
