"""Local users: the one implementation behind ``authsvc user ...`` and ``/api/v1/users``.

Passwords are hashed with argon2id, which keeps a core busy for tens of milliseconds: the server
passes its verify threads as ``executor`` so that hashing never runs on the event loop, the CLI
hashes inline. A password is never returned, except one this service generated, once.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.names import normalize_username
from authsvc.passwords import PasswordHasher, check_new_password, generate_password


def user_to_dict(user: store.UserRecord) -> dict[str, object]:
    """JSON-ready data for a user; the password hash is left out."""
    return {
        "id": user.id,
        "name": user.name,
        "admin": user.admin,
        "disabled": user.disabled,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "source": user.source,
        "token_ttl": user.token_ttl,
    }


def known_name(name: str) -> str:
    """The normalised name of an existing user; an invalid name is NotFound (no user has it)."""
    try:
        return normalize_username(name)
    except ValueError:
        raise store.NotFound(f"unknown user {name!r}") from None


class UserService:
    """Create, list, change and delete users."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        hasher: PasswordHasher,
        executor: Executor | None = None,
    ) -> None:
        """Store in ``sessionmaker``'s database; hash with ``hasher`` (in ``executor`` if given)."""
        self._sessionmaker = sessionmaker
        self._hasher = hasher
        self._executor = executor

    async def _hash(self, password: str | None) -> tuple[str, str | None]:
        """The hash of ``password`` (checked), or of a generated one that is also returned."""
        generated = None
        if password is None:
            password = generated = generate_password()
        else:
            check_new_password(password)
        if self._executor is None:
            return self._hasher.hash(password), generated
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hasher.hash, password), generated

    async def add(
        self,
        name: str,
        password: str | None,
        *,
        admin: bool = False,
        token_ttl: int | None = None,
    ) -> tuple[store.UserRecord, str | None]:
        """Create a user; return it and the generated password (None when one was given).

        ValueError for an invalid name or password, Conflict if the name is taken.
        """
        name = normalize_username(name)
        password_hash, generated = await self._hash(password)
        async with store.transaction(self._sessionmaker) as session:
            user = await store.create_user(
                session, name, password_hash, admin=admin, token_ttl=token_ttl
            )
        return user, generated

    async def get(self, name: str) -> store.UserRecord:
        """One user (NotFound if there is none, or the name is invalid)."""
        name = known_name(name)
        async with store.transaction(self._sessionmaker, commit=False) as session:
            user = await store.get_user(session, name)
        if user is None:
            raise store.NotFound(f"unknown user {name!r}")
        return user

    async def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> list[store.UserRecord]:
        """Users by name: all, or a page of ``limit`` after the name ``after``."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.list_users(session, after=after, limit=limit)

    async def count(self) -> int:
        """The number of users."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            return await store.count_users(session)

    async def set_password(self, name: str, password: str | None) -> tuple[int, str | None]:
        """Replace a password (None: generate one); return the refresh tokens revoked and the
        generated password. Refresh tokens die with the old password."""
        name = known_name(name)
        password_hash, generated = await self._hash(password)
        async with store.transaction(self._sessionmaker) as session:
            revoked = await store.set_password_hash(session, name, password_hash)
        return revoked, generated

    async def set_disabled(self, name: str, disabled: bool) -> int:
        """Disable (revoking refresh tokens; returns how many) or enable a user."""
        name = known_name(name)
        async with store.transaction(self._sessionmaker) as session:
            return await store.set_disabled(session, name, disabled)

    async def set_token_ttl(self, name: str, token_ttl: int | None) -> None:
        """Set the user's access-token lifetime in seconds (None: the server's)."""
        name = known_name(name)
        async with store.transaction(self._sessionmaker) as session:
            await store.set_token_ttl(session, name, token_ttl)

    async def delete(self, name: str) -> None:
        """Delete a user with their memberships, refresh tokens and access tokens."""
        name = known_name(name)
        async with store.transaction(self._sessionmaker) as session:
            await store.delete_user(session, name)
