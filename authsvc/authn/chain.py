"""The ordered list of authenticators; the first one that recognises the credentials decides."""

from __future__ import annotations

from collections.abc import Sequence

from authsvc.authn.types import (
    INVALID_LOGIN,
    Authenticated,
    Authenticator,
    Credentials,
    Identity,
    NotMine,
    WrongCredentials,
)
from authsvc.errors import AuthError, ErrorCode


class AuthenticatorChain:
    """Asks each authenticator in order (docker_auth's semantics: NoMatch passes it on)."""

    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        """Use ``authenticators`` in this order."""
        if not authenticators:
            raise ValueError("at least one authenticator is required")
        self.authenticators = tuple(authenticators)

    async def authenticate(self, credentials: Credentials) -> Identity:
        """The identity for ``credentials``, or ``AuthError(UNAUTHORIZED)`` saying why not."""
        for authenticator in self.authenticators:
            result = await authenticator.authenticate(credentials)
            match result:
                case Authenticated(identity=identity):
                    return identity
                case WrongCredentials(message=message):
                    raise AuthError(ErrorCode.UNAUTHORIZED, message)
                case NotMine():
                    continue
        # Nobody knows the subject: the same answer as a wrong password (no user enumeration).
        raise AuthError(ErrorCode.UNAUTHORIZED, INVALID_LOGIN)
