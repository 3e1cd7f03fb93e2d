"""Helpers for the token-endpoint tests: keys, configs and seeding through the store."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.config import Config, DatabaseConfig, PasswordConfig, ServerConfig, TokenConfig
from authsvc.keys import Algorithm, generate_key, self_signed_certificate, write_key_pair
from authsvc.passwords import PasswordHasher

# Cheap argon2id parameters: the tests exercise the logic, not the cost.
FAST_PASSWORDS = PasswordConfig(argon2_memory_cost=256, argon2_time_cost=1, argon2_parallelism=1)
SERVICES = ("registry", "other-registry")
ISSUER = "authsvc-test"
REALM = "authsvc-test-realm"


@dataclass(frozen=True)
class KeyPair:
    """Paths of a generated signing key and its certificate."""

    key: Path
    cert: Path


def make_keys(directory: Path, alg: Algorithm) -> KeyPair:
    """Generate a key and self-signed certificate into ``directory``."""
    key = generate_key(alg)
    key_path, cert_path = write_key_pair(directory, key, self_signed_certificate(key))
    return KeyPair(key_path, cert_path)


def make_config(url: str, keys: KeyPair, *, cache_ttl: int = 60, ttl: int = 300) -> Config:
    """A test configuration: two services, a known realm and issuer, fast password hashing."""
    passwords = PasswordConfig(
        argon2_memory_cost=FAST_PASSWORDS.argon2_memory_cost,
        argon2_time_cost=FAST_PASSWORDS.argon2_time_cost,
        argon2_parallelism=FAST_PASSWORDS.argon2_parallelism,
        credential_cache_ttl=cache_ttl,
    )
    return Config(
        server=ServerConfig(realm=REALM),
        database=DatabaseConfig(url=url),
        token=TokenConfig(
            issuer=ISSUER,
            services=SERVICES,
            ttl=ttl,
            signing_key=keys.key,
            signing_cert=keys.cert,
        ),
        passwords=passwords,
    )


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    value = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


class Seeder:
    """Creates users, groups and rules through the store, as the CLI does."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Use ``sessionmaker`` with a fast hasher."""
        self.sessionmaker = sessionmaker
        self.hasher = PasswordHasher(FAST_PASSWORDS)

    async def user(self, name: str, password: str, *, disabled: bool = False) -> store.UserRecord:
        """Create a user with an argon2id hash of ``password``."""
        async with self.sessionmaker() as session:
            record = await store.create_user(session, name, self.hasher.hash(password))
            if disabled:
                await store.set_disabled(session, name, True)
            await session.commit()
        return record

    async def raw_user(self, name: str, password_hash: str) -> store.UserRecord:
        """Create a user with a given hash (e.g. bcrypt, as imported from htpasswd)."""
        async with self.sessionmaker() as session:
            record = await store.create_user(session, name, password_hash)
            await session.commit()
        return record

    async def rule(
        self,
        account: str,
        name: str,
        actions: Sequence[str],
        *,
        type: str = "repository",
        service: str | None = None,
        effect: str = "allow",
    ) -> None:
        """Add one ACL rule."""
        async with self.sessionmaker() as session:
            await store.add_rule(
                session,
                account=account,
                name=name,
                actions=actions,
                type=type,
                service=service,
                effect=effect,  # type: ignore[arg-type]
            )
            await session.commit()

    async def group(self, name: str, *members: str) -> None:
        """Create a group with members."""
        async with self.sessionmaker() as session:
            await store.create_group(session, name)
            for member in members:
                await store.add_member(session, name, member)
            await session.commit()

    async def set_password(self, name: str, password: str) -> None:
        """Change a password (revokes refresh tokens)."""
        async with self.sessionmaker() as session:
            await store.set_password_hash(session, name, self.hasher.hash(password))
            await session.commit()

    async def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable a user (disabling revokes refresh tokens)."""
        async with self.sessionmaker() as session:
            await store.set_disabled(session, name, disabled)
            await session.commit()

    async def delete_user(self, name: str) -> None:
        """Delete a user."""
        async with self.sessionmaker() as session:
            await store.delete_user(session, name)
            await session.commit()

    async def tokens(self, user: str | None = None) -> list[store.RefreshTokenRecord]:
        """The stored refresh tokens."""
        async with self.sessionmaker() as session:
            return await store.list_refresh_tokens(session, user)

    async def revoke(self, token_id: int) -> None:
        """Revoke one refresh token."""
        async with self.sessionmaker() as session:
            await store.revoke_refresh_token(session, token_id)
            await session.commit()

    async def get_user(self, name: str) -> store.UserRecord | None:
        """Read a user row."""
        async with self.sessionmaker() as session:
            return await store.get_user(session, name)
