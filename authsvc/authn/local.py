"""The local authenticator: users with argon2id passwords in authsvc's own SQL store."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.authn.directory import UserDirectory
from authsvc.authn.password_check import PasswordCheck
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
from authsvc.models import utcnow
from authsvc.names import normalize_username
from svckit.background import Background

log = logging.getLogger(__name__)

# Longer passwords cannot have been set (authsvc.passwords.MAX_PASSWORD_LENGTH is smaller), and
# argon2 over a huge input is CPU spent for nothing.
MAX_PASSWORD_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the local store says about a user name, without checking any password.

    ``refusal`` is the message the token endpoint answers a correct password with (None when it
    would authenticate); ``identity`` is the identity the user would have if enabled.
    """

    identity: Identity | None
    refusal: str | None


class LocalAuthenticator:
    """Authenticates user name + password against the SQL store (docker_auth's static backend)."""

    name = "local"

    def __init__(
        self,
        directory: UserDirectory,
        passwords: PasswordCheck,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """Read users through ``directory``, verify with ``passwords``, note logins in the store."""
        self._directory = directory
        self._passwords = passwords
        self._sessionmaker = sessionmaker
        self._clock = clock
        # Last-login and rehash writes run here, not on the login's path.
        self.bookkeeping = Background()

    async def authenticate(self, credentials: Credentials) -> AuthResult:
        """Verify a password; an unknown user costs a dummy verification and is not ours."""
        if credentials.kind is not CredentialKind.PASSWORD:
            return NotMine()
        try:
            name = normalize_username(credentials.username)
        except ValueError:
            # No such user can exist, so there is no timing to equalise.
            return NotMine()
        if len(credentials.secret) > MAX_PASSWORD_LENGTH:
            return WrongCredentials(INVALID_LOGIN)
        user = await self._directory.user(name)
        if user is not None and user.source != "local":
            # A directory user's row has no usable password: the directory decides, so this
            # backend treats the name as unknown (a dummy verification keeps the timing).
            user = None
        result = await self._passwords.check(name, credentials.secret, user)
        if user is None:
            return NotMine()
        if not result.ok:
            return WrongCredentials(INVALID_LOGIN)
        # Disabled is reported only to someone who knows the password.
        if user.disabled:
            return WrongCredentials(USER_DISABLED)
        if result.new_hash is not None or _login_is_stale(user, self._clock()):
            self.bookkeeping.spawn(self._record_login(user, result.new_hash))
        return Authenticated(await self._identity(user, CredentialKind.PASSWORD))

    async def lookup(self, username: str) -> Lookup:
        """What the token endpoint would do with a correct password for ``username``."""
        name = normalize_username(username)
        user = await self._directory.user(name)
        if user is None:
            return Lookup(None, INVALID_LOGIN)
        identity = await self._identity(user, CredentialKind.PASSWORD)
        return Lookup(identity, USER_DISABLED if user.disabled else None)

    async def identity_of(self, user: store.UserRecord, kind: CredentialKind) -> Identity:
        """The identity of a local user row (used for refresh tokens too)."""
        return await self._identity(user, kind)

    async def _identity(self, user: store.UserRecord, kind: CredentialKind) -> Identity:
        groups = await self._directory.groups(user.id)
        return Identity(user.name, groups, kind, user.id, token_ttl=user.token_ttl)

    async def _record_login(self, user: store.UserRecord, new_hash: str | None) -> None:
        # Bookkeeping, off the login's path: a database that refuses writes (locked, read-only,
        # failing over) must neither fail nor delay a login whose password was verified.
        # A rehash that is not written is redone at the next login.
        try:
            await self._write_login(user, new_hash)
        except store.StoreError as exc:
            log.warning("last-login bookkeeping for user id %d not written: %s", user.id, exc)

    async def _write_login(self, user: store.UserRecord, new_hash: str | None) -> None:
        async with store.transaction(self._sessionmaker) as session:
            # expected_hash: a password changed meanwhile is never overwritten by this rehash.
            await store.record_login(
                session, user.id, self._clock(), new_hash, expected_hash=user.password_hash
            )


# last_login_at is a hint for administrators, not a counter: writing it on every cached login
# would put a commit (an fsync on SQLite) on the hot path of repeated Basic logins.
LOGIN_TOUCH_INTERVAL = dt.timedelta(seconds=60)


def _login_is_stale(user: store.UserRecord, now: dt.datetime) -> bool:
    last = user.last_login_at
    if last is None:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)  # SQLite returns naive datetimes
    return now - last >= LOGIN_TOUCH_INTERVAL
