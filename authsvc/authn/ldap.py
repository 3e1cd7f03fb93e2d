"""The LDAP authenticator: a directory vouches for the password, authsvc keeps a row for the user.

On a successful bind the user gets a local row (``source`` = ``ldap``, no usable password) if
they have none, and the groups the directory reported replace their stored directory groups; the
identity's groups are read back from the store, so ``/auth`` and ``authsvc acl check`` see the
same groups. A disabled row refuses the login even though the directory accepted it.

``CachedDirectoryBind`` remembers recently verified (user, password) pairs
(``authsvc.authn.verified_pairs``): skopeo and podman resend Basic credentials with every token
request, and a bind per request would load the directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.authn import ldap_client
from authsvc.authn.directory import UserDirectory
from authsvc.authn.provisioning import provision_user
from authsvc.authn.types import (
    INVALID_LOGIN,
    USER_DISABLED,
    Authenticated,
    AuthResult,
    BackendUnavailable,
    CredentialKind,
    Credentials,
    Identity,
    NotMine,
    WrongCredentials,
)
from authsvc.authn.verified_pairs import VerifiedPairs
from authsvc.config import LdapConfig
from authsvc.names import normalize_group_name, normalize_username
from svckit.cache import Cache

log = logging.getLogger(__name__)

SOURCE = "ldap"
MAX_PASSWORD_LENGTH = 4096


class DirectoryBind(Protocol):
    """Checks a password with the directory; ``user`` is the local row, if any."""

    async def bind(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> ldap_client.DirectoryEntry | None:
        """The entry (None: no such user); raises BindRefused or BackendUnavailable."""
        ...


class ThreadedDirectoryBind:
    """Runs the blocking python-ldap calls in ``executor``; identical concurrent binds share one."""

    def __init__(self, config: LdapConfig, executor: Executor) -> None:
        """Bind against the directory of ``config`` on ``executor``'s threads."""
        self._config = config
        self._executor = executor
        self.flights: Cache[tuple[str, bytes], ldap_client.DirectoryEntry | None] = Cache(ttl=0)

    async def bind(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> ldap_client.DirectoryEntry | None:
        """One bind in a worker thread; an outage becomes BackendUnavailable (503)."""
        loop = asyncio.get_running_loop()
        key = (username, hashlib.sha256(password.encode("utf-8")).digest())

        def run() -> ldap_client.DirectoryEntry | None:
            return ldap_client.authenticate(self._config, username, password)

        try:
            return await self.flights.get_or_load(
                key, lambda: loop.run_in_executor(self._executor, run)
            )
        except ldap_client.DirectoryUnavailable as exc:
            raise BackendUnavailable(str(exc)) from None


@dataclass(frozen=True, slots=True)
class _Verified:
    user_id: int
    updated_at: dt.datetime
    entry: ldap_client.DirectoryEntry


class CachedDirectoryBind:
    """Remembers successful binds for ``ttl`` seconds, keyed by an HMAC of (user, password).

    An entry counts only for the same enabled directory row, unchanged since (``updated_at``
    moves when an administrator disables, enables or edits the user), so ``user disable`` takes
    effect at once. A first login has no row yet, so its bind is not remembered: the next one is.
    """

    def __init__(
        self, inner: DirectoryBind, *, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Wrap ``inner``; ``ttl`` 0 disables the cache."""
        self._inner = inner
        self._pairs: VerifiedPairs[_Verified] = VerifiedPairs(ttl=ttl, clock=clock)

    async def bind(
        self, username: str, password: str, user: store.UserRecord | None
    ) -> ldap_client.DirectoryEntry | None:
        """A remembered success for this very row, or a real bind."""
        key = self._pairs.key(username, password)
        if user is not None:

            def same_row(entry: _Verified) -> bool:
                return (
                    not user.disabled
                    and user.source == SOURCE
                    and entry.user_id == user.id
                    and entry.updated_at == user.updated_at
                )

            remembered = self._pairs.recall(key, same_row)
            if remembered is not None:
                return dataclasses.replace(remembered.entry, verified_now=False)
        result = await self._inner.bind(username, password, user)
        if result is not None and user is not None and not user.disabled:
            self._pairs.remember(key, _Verified(user.id, user.updated_at, result))
        return result


def map_groups(names: frozenset[str], mapping: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """authsvc group names for directory group names: mapped ones renamed, others as they are.

    Directory names are matched case-insensitively (LDAP's cn matching rule is caseIgnoreMatch);
    a name that is no valid authsvc group name is dropped rather than failing the login.
    """
    table = {source.casefold(): target for source, target in mapping}
    result: set[str] = set()
    for name in names:
        try:
            result.add(normalize_group_name(table.get(name.casefold(), name)))
        except ValueError:
            log.warning("ldap: ignoring a directory group whose name is no valid group name")
    return frozenset(result)


class LdapAuthenticator:
    """Authenticates user name + password by binding to an LDAP directory."""

    name = SOURCE

    def __init__(
        self,
        config: LdapConfig,
        binder: DirectoryBind,
        directory: UserDirectory,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        """Bind through ``binder``; read and write the user's row through the store."""
        self._config = config
        self._binder = binder
        self._directory = directory
        self._sessionmaker = sessionmaker

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Bind as the user; a local-only name or one the directory lacks is not ours."""
        if credentials.kind is not CredentialKind.PASSWORD or not credentials.secret:
            # An empty password would be an unauthenticated bind, which succeeds (RFC 4513
            # §5.1.2): no directory user can log in without one.
            return NotMine()
        try:
            # Directory user names match case-insensitively (uid and sAMAccountName use
            # caseIgnoreMatch), so "Alice" and "alice" bind as one entry: one row for both, or
            # `user disable alice` could be sidestepped by logging in as "ALICE".
            name = normalize_username(credentials.username).lower()
        except ValueError:
            return NotMine()
        if len(credentials.secret) > MAX_PASSWORD_LENGTH:
            return WrongCredentials(INVALID_LOGIN)
        user = await self._directory.user(name)
        if user is not None and user.source != SOURCE:
            # A local user of that name: the local backend owns it, whatever the directory says.
            return NotMine()
        try:
            entry = await self._binder.bind(name, credentials.secret, user)
        except ldap_client.BindRefused:
            return WrongCredentials(INVALID_LOGIN)
        if entry is None:
            return NotMine()
        if user is not None and user.disabled:
            return WrongCredentials(USER_DISABLED)
        stored = await self._remember(name, entry, user)
        if isinstance(stored, WrongCredentials):
            return stored
        user = stored
        groups = await self._directory.groups(user.id)
        identity = Identity(
            user.name, groups, CredentialKind.PASSWORD, user.id, token_ttl=user.token_ttl
        )
        return Authenticated(identity)

    async def _remember(
        self, name: str, entry: ldap_client.DirectoryEntry, known: store.UserRecord | None
    ) -> store.UserRecord | WrongCredentials:
        """Create the row on a first login and store this login's groups, or refuse."""
        if known is not None and not entry.verified_now:
            # A remembered bind: its groups were stored when it was verified.
            return known
        groups = map_groups(entry.groups, self._config.group_map)
        return await provision_user(self._sessionmaker, name, SOURCE, groups)
