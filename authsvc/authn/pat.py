"""The personal-access-token authenticator: a PAT is the Basic password with its owner's name.

``docker login -u alice`` with a PAT as the password therefore works with every client. A
password with the PAT prefix is this authenticator's: a malformed one (bad checksum, wrong
length) is refused without a database lookup, and no PAT-shaped password ever reaches argon2.
The identity carries the token's scopes as a cap, so the grant is the intersection of the
owner's ACL and the token's scopes. Only a password login gets a refresh token
(``may_get_refresh_token``), so a PAT login never outlives the PAT through one. The admin API
also accepts a PAT alone (``Authorization: Bearer``): those credentials are of the kind
``PERSONAL_ACCESS_TOKEN`` and carry no user name to check.
"""

from __future__ import annotations

from authsvc import pats
from authsvc.authn.directory import UserDirectory
from authsvc.authn.types import (
    INVALID_LOGIN,
    USER_DISABLED,
    Authenticated,
    AuthResult,
    CredentialKind,
    Credentials,
    Identity,
    NotMine,
    WrongCredentials,
)
from authsvc.names import normalize_username
from authsvc.pat_service import PatInvalid, PatService

# A PAT as a Basic password (with its owner's name), or alone as an API bearer token.
_MINE = (CredentialKind.PASSWORD, CredentialKind.PERSONAL_ACCESS_TOKEN)


class PatAuthenticator:
    """Authenticates ``user:PAT`` Basic credentials."""

    name = "pat"

    def __init__(self, service: PatService, directory: UserDirectory) -> None:
        """Resolve secrets with ``service``; read groups from ``directory``."""
        self._service = service
        self._directory = directory

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Check the secret's format, then the token, its owner and the presented name."""
        if credentials.kind not in _MINE or not pats.looks_like_pat(credentials.secret):
            return NotMine()
        if not pats.well_formed(credentials.secret):
            return WrongCredentials(INVALID_LOGIN)
        try:
            valid = await self._service.resolve(credentials.secret)
        except PatInvalid as exc:
            return WrongCredentials(str(exc))
        user = valid.user
        if credentials.kind is CredentialKind.PASSWORD:
            try:
                presented = normalize_username(credentials.username)
            except ValueError:
                return WrongCredentials(INVALID_LOGIN)
            # Directory and OIDC users' names are lower-case; a local name matches exactly.
            if presented != user.name and presented.lower() != user.name:
                return WrongCredentials(INVALID_LOGIN)
        if user.disabled:
            return WrongCredentials(USER_DISABLED)
        groups = await self._directory.groups(user.id)
        identity = Identity(
            user.name,
            groups,
            CredentialKind.PERSONAL_ACCESS_TOKEN,
            user.id,
            cap=valid.caps,
            token_ttl=user.token_ttl,
        )
        return Authenticated(identity)
