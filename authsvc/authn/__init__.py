"""Authentication: credentials in, an identity (or a refusal) out.

An ``Authenticator`` (docker_auth's ``authn`` interface) answers *authenticated*, *wrong
credentials* or *not mine*; the ``AuthenticatorChain`` asks each in turn and the first one that
recognises the credentials decides. Today's chain is the refresh-token authenticator and the
local SQL users; directory and token backends plug in as further authenticators.
"""

from authsvc.authn.chain import AuthenticatorChain
from authsvc.authn.types import (
    Authenticated,
    Authenticator,
    AuthResult,
    CredentialKind,
    Credentials,
    Identity,
    NotMine,
    WrongCredentials,
)

__all__ = [
    "AuthResult",
    "Authenticated",
    "Authenticator",
    "AuthenticatorChain",
    "CredentialKind",
    "Credentials",
    "Identity",
    "NotMine",
    "WrongCredentials",
]
