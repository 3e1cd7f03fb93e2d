"""The vocabulary of authentication: credentials, identities, results, the Authenticator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from authsvc.caps import ScopeCap

# What a client is told when a password does not match or the user is unknown: the same words
# in both cases, so the answer does not reveal which user names exist.
INVALID_LOGIN = "invalid username or password"
# Why a disabled account is refused (the same text for every backend).
USER_DISABLED = "user account is disabled"


class CredentialKind(StrEnum):
    """How the client proved who it is (recorded in the identity, and later in the audit)."""

    PASSWORD = "password"
    REFRESH_TOKEN = "refresh_token"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"
    # An OpenID Connect ID token through a trust (authsvc.authn.federation): the Basic
    # password of the user ``oidc``, or the subject token of an RFC 8693 token exchange.
    ID_TOKEN = "id_token"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client presented: a user name and a secret of some kind, for one service.

    ``username`` is empty for a refresh token (containerd sends one as the Basic password with
    an empty user name, and the OAuth2 refresh grant carries none).
    """

    kind: CredentialKind
    username: str
    secret: str = field(repr=False)
    service: str
    # The client address (authsvc.netaddr), which throttling keys on; empty when unknown.
    address: str = ""

    def __repr__(self) -> str:
        """Never show the secret."""
        return (
            f"Credentials(kind={self.kind}, username={self.username!r}, "
            f"service={self.service!r}, address={self.address!r})"
        )


@dataclass(frozen=True, slots=True)
class Federation:
    """How a federated identity got in: the trust that matched and the ID token's subject."""

    trust: str
    # The ID token's ``iss`` and ``sub``, for the audit trail (repo:org/app:ref:refs/heads/main).
    issuer: str
    subject: str
    # The trust's access-token lifetime in seconds; None: the server's.
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated subject: the token's ``sub`` and the input of ACL evaluation."""

    name: str
    groups: frozenset[str]
    kind: CredentialKind
    # The local user row behind the identity: refresh tokens are issued for it.
    user_id: int | None = None
    # What the credential may be used for at most (a personal access token's scopes); None
    # means the ACL alone decides. The authorizer's grant is intersected with it.
    cap: tuple[ScopeCap, ...] | None = None
    # The account's own access-token lifetime in seconds (users.token_ttl); None means the
    # server's AUTHSVC_TOKEN_TTL.
    token_ttl: int | None = None
    # Set for an ID token accepted through a trust: then the cap is the whole grant and the
    # ACL is not consulted (authsvc.trusts explains why).
    federation: Federation | None = None


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The credentials are good."""

    identity: Identity


@dataclass(frozen=True, slots=True)
class WrongCredentials:
    """This authenticator knows the subject and refuses it; the message is safe to show."""

    message: str = INVALID_LOGIN


@dataclass(frozen=True, slots=True)
class NotMine:
    """This authenticator does not know the subject; the next one in the chain may."""


AuthResult = Authenticated | WrongCredentials | NotMine


class BackendUnavailable(Exception):
    """An identity backend (a directory server) cannot answer now; the answer is 503.

    The message names the backend and the failure in one line, without credentials.
    """


class Authenticator(Protocol):
    """Turns credentials into an identity (docker_auth ``api.Authenticator``, with NoMatch)."""

    name: str

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Decide on ``credentials``; outages raise (the store's StoreUnavailable, say)."""
        ...
