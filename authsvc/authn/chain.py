"""The ordered list of authenticators; the first one that recognises the credentials decides."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from authsvc.authn.throttle import LoginThrottle


class AuthenticatorChain:
    """Asks each authenticator in order (docker_auth's semantics: NoMatch passes it on)."""

    def __init__(
        self, authenticators: Sequence[Authenticator], throttle: LoginThrottle | None = None
    ) -> None:
        """Use ``authenticators`` in this order; ``throttle`` guards password logins."""
        if not authenticators:
            raise ValueError("at least one authenticator is required")
        self.authenticators = tuple(authenticators)
        self.throttle = throttle

    async def authenticate(self, credentials: Credentials) -> Identity:
        """The identity for ``credentials``, or ``AuthError`` (401, or 429 when throttled)."""
        throttle = (
            self.throttle if self.throttle and self.throttle.applies_to(credentials) else None
        )
        if throttle is not None:
            # Before any authenticator: a blocked login costs no argon2 run and no bind.
            await throttle.check(credentials)
        try:
            identity = await self._first_answer(credentials)
        except AuthError as exc:
            if throttle is not None and exc.code is ErrorCode.UNAUTHORIZED:
                await throttle.failed(credentials)
            raise
        if throttle is not None:
            await throttle.succeeded(credentials)
        return identity

    async def _first_answer(self, credentials: Credentials) -> Identity:
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
