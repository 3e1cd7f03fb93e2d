"""The local authenticator: credential cache, invalidation, dummy verify, rehash, threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import bcrypt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from authsvc import db
from authsvc.authn import AuthenticatorChain, CredentialKind, Credentials
from authsvc.authn.basic import parse_basic
from authsvc.authn.directory import CachedUserDirectory, SqlUserDirectory
from authsvc.authn.local import LocalAuthenticator
from authsvc.authn.password_check import CachedPasswordCheck, ThreadedPasswordCheck
from authsvc.authn.refresh import RefreshTokenAuthenticator
from authsvc.config import DatabaseConfig, PasswordConfig
from authsvc.errors import AuthError, ErrorCode
from authsvc.passwords import PasswordHasher, VerifyResult
from authsvc.refresh_tokens import REVALIDATE_AFTER, RefreshTokenInvalid, RefreshTokenService
from tests.authsvc.tokenhelpers import FAST_PASSWORDS, Seeder

THREAD_PREFIX = "authsvc-verify-test"


class CountingHasher(PasswordHasher):
    """The real hasher, recording each verify call (hash given, thread it ran on)."""

    def __init__(self, cfg: PasswordConfig) -> None:
        super().__init__(cfg)
        self.calls: list[tuple[str | None, str]] = []

    def verify(self, password: str, hash: str | None) -> VerifyResult:
        self.calls.append((hash, threading.current_thread().name))
        return super().verify(password, hash)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    chain: AuthenticatorChain
    local: LocalAuthenticator
    passwords: CachedPasswordCheck
    hasher: CountingHasher
    seed: Seeder
    clock: FakeClock
    refresh: RefreshTokenService


@pytest.fixture
async def env(db_url: str) -> AsyncIterator[Env]:
    """The server's authenticator chain on a migrated, empty database (SQLite and PostgreSQL)."""
    engine: AsyncEngine = db.make_engine(DatabaseConfig(url=db_url))
    sessionmaker = db.make_sessionmaker(engine)
    hasher = CountingHasher(FAST_PASSWORDS)
    clock = FakeClock()
    refresh = RefreshTokenService(sessionmaker, ttl=3600, monotonic=clock)
    with ThreadPoolExecutor(2, thread_name_prefix=THREAD_PREFIX) as pool:
        passwords = CachedPasswordCheck(ThreadedPasswordCheck(hasher, pool), ttl=60, clock=clock)
        directory = CachedUserDirectory(SqlUserDirectory(sessionmaker))
        local = LocalAuthenticator(directory, passwords, sessionmaker)
        chain = AuthenticatorChain([RefreshTokenAuthenticator(refresh, local), local])
        seed = Seeder(sessionmaker)
        await seed.user("alice", "pw-alice")
        yield Env(chain, local, passwords, hasher, seed, clock, refresh)
    await engine.dispose()


def password(user: str, secret: str) -> Credentials:
    return Credentials(CredentialKind.PASSWORD, user, secret, "registry")


def refresh_token(secret: str, service: str = "registry") -> Credentials:
    return Credentials(CredentialKind.REFRESH_TOKEN, "", secret, service)


async def login(env: Env, user: str = "alice", password: str = "pw-alice") -> str:
    identity = await env.chain.authenticate(
        Credentials(CredentialKind.PASSWORD, user, password, "registry")
    )
    return identity.name


async def fails(env: Env, user: str, password: str) -> str:
    with pytest.raises(AuthError) as info:
        await env.chain.authenticate(
            Credentials(CredentialKind.PASSWORD, user, password, "registry")
        )
    assert info.value.code is ErrorCode.UNAUTHORIZED
    return info.value.message


async def test_second_login_is_served_from_cache(env: Env) -> None:
    assert await login(env) == "alice"
    assert await login(env) == "alice"
    assert len(env.hasher.calls) == 1
    # The verification ran in the pool, never on the event loop's thread.
    assert env.hasher.calls[0][1].startswith(THREAD_PREFIX)


async def test_wrong_password_is_never_cached(env: Env) -> None:
    await login(env)
    assert await fails(env, "alice", "wrong") == "invalid username or password"
    assert await fails(env, "alice", "wrong") == "invalid username or password"
    assert len(env.hasher.calls) == 3


async def test_entries_expire(env: Env) -> None:
    await login(env)
    env.clock.now += 59
    await login(env)
    assert len(env.hasher.calls) == 1
    env.clock.now += 2
    await login(env)
    assert len(env.hasher.calls) == 2


async def test_password_change_invalidates(env: Env) -> None:
    await login(env)
    await env.seed.set_password("alice", "pw-new")
    assert await fails(env, "alice", "pw-alice") == "invalid username or password"
    assert await login(env, password="pw-new") == "alice"


async def test_disable_invalidates_and_enable_needs_a_new_verify(env: Env) -> None:
    await login(env)
    await env.seed.set_disabled("alice", True)
    assert await fails(env, "alice", "pw-alice") == "user account is disabled"
    await env.seed.set_disabled("alice", False)
    calls = len(env.hasher.calls)
    await login(env)
    assert len(env.hasher.calls) == calls + 1


async def test_recreated_user_is_not_served_from_cache(env: Env) -> None:
    await login(env)
    await env.seed.delete_user("alice")
    assert await fails(env, "alice", "pw-alice") == "invalid username or password"
    await env.seed.user("alice", "pw-alice")
    await login(env)
    assert len(env.hasher.calls) == 3


async def test_unknown_user_pays_a_dummy_verify(env: Env) -> None:
    assert await fails(env, "ghost", "whatever") == "invalid username or password"
    # verify() ran with no hash: PasswordHasher's dummy verification of equal cost.
    assert env.hasher.calls == [(None, env.hasher.calls[0][1])]
    assert env.hasher.calls[0][1].startswith(THREAD_PREFIX)


async def test_invalid_user_name_is_rejected_without_verify(env: Env) -> None:
    await fails(env, "bad\x00name", "x")
    assert env.hasher.calls == []


async def test_concurrent_logins_share_one_verification(env: Env) -> None:
    names = await asyncio.gather(*(login(env) for _ in range(8)))
    assert names == ["alice"] * 8
    assert len(env.hasher.calls) == 1


async def test_bcrypt_hash_is_upgraded_on_success(env: Env) -> None:
    legacy = bcrypt.hashpw(b"pw-bob", bcrypt.gensalt(rounds=4)).decode()
    await env.seed.raw_user("bob", legacy)
    await login(env, "bob", "pw-bob")
    await env.local.bookkeeping.drain()  # the rehash is written after the login is answered
    user = await env.seed.get_user("bob")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert user.last_login_at is not None
    # The cache holds the new hash, so the rehash does not invalidate the entry.
    await login(env, "bob", "pw-bob")
    assert len(env.hasher.calls) == 1


async def test_refresh_token_identity(env: Env) -> None:
    user = await env.seed.get_user("alice")
    assert user is not None
    secret = await env.refresh.issue(user_id=user.id, service="registry", client_id="t")
    identity = await env.chain.authenticate(refresh_token(secret))
    assert (identity.name, identity.kind) == ("alice", CredentialKind.REFRESH_TOKEN)
    with pytest.raises(AuthError):
        await env.chain.authenticate(refresh_token(secret, "elsewhere"))
    await env.seed.set_disabled("alice", True)
    # A validated token is re-read from the database after REVALIDATE_AFTER seconds at most.
    env.clock.now += REVALIDATE_AFTER
    with pytest.raises(AuthError, match="revoked"):
        await env.chain.authenticate(refresh_token(secret))


async def test_refresh_validation_is_reused_briefly(env: Env) -> None:
    user = await env.seed.get_user("alice")
    assert user is not None
    secret = await env.refresh.issue(user_id=user.id, service="registry", client_id="t")
    await env.refresh.resolve(secret, service="registry")
    (record,) = await env.seed.tokens("alice")
    await env.seed.revoke(record.id)
    # Within the bound the cached validation answers without a query ...
    env.clock.now += REVALIDATE_AFTER / 2
    assert (await env.refresh.resolve(secret, service="registry")).name == "alice"
    # ... and the service binding is still enforced on a cached entry.
    with pytest.raises(RefreshTokenInvalid, match="not issued for this service"):
        await env.refresh.resolve(secret, service="elsewhere")
    env.clock.now += REVALIDATE_AFTER
    with pytest.raises(RefreshTokenInvalid, match="revoked"):
        await env.refresh.resolve(secret, service="registry")


async def test_groups_are_part_of_the_identity(env: Env) -> None:
    await env.seed.group("devs", "alice")
    identity = await env.chain.authenticate(password("alice", "pw-alice"))
    assert identity.groups == frozenset({"devs"})


def test_cache_key_is_an_unambiguous_hmac(env: Env) -> None:
    cache = env.passwords
    assert cache.key("ab", "c") != cache.key("a", "bc")
    assert cache.key("a", "b") == cache.key("a", "b")
    assert b"secret-password" not in cache.key("u", "secret-password")


async def test_cache_keys_differ_between_processes(env: Env) -> None:
    # Another process has another random HMAC key, so it derives different keys.
    other = CachedPasswordCheck(env.passwords, ttl=60)
    assert other.key("a", "b") != env.passwords.key("a", "b")


async def test_cache_disabled_with_zero_ttl(env: Env) -> None:
    uncached = CachedPasswordCheck(env.passwords, ttl=0)
    user = await env.seed.get_user("alice")
    assert (await uncached.check("alice", "pw-alice", user)).ok
    assert len(uncached.verified) == 0


def test_parse_basic() -> None:
    assert parse_basic("Basic YWxpY2U6cDpx", service="s") == Credentials(
        CredentialKind.PASSWORD, "alice", "p:q", "s"
    )
    assert "p:q" not in repr(parse_basic("Basic YWxpY2U6cDpx", service="s"))
    empty_user = parse_basic("Basic OnNlY3JldA==", service="s")
    assert (empty_user.kind, empty_user.secret) == (CredentialKind.REFRESH_TOKEN, "secret")
    with pytest.raises(AuthError):
        parse_basic("Digest abc", service="s")
