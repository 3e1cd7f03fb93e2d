"""Authentication: Basic credentials or refresh tokens to an identity, with a verified cache.

Password verification is CPU-bound (argon2id), so it runs in a thread pool and never on the event
loop (issue 5 T4). Clients such as skopeo and podman resend Basic credentials with every token
request, so recently verified credentials are remembered (issue 5 T2): the cache key is an HMAC of
(user, password) under a random per-process key, so the password itself is never kept, and an
entry is honoured only while the user's row still has the same password hash and is enabled.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.errors import AuthError, ErrorCode
from authsvc.names import normalize_username
from authsvc.passwords import PasswordHasher, VerifyResult
from authsvc.refresh import RefreshTokens, utcnow
from authsvc.singleflight import SingleFlight

CACHE_MAX_ENTRIES = 10_000
# Group membership is read on every token request; a short cache spares a query per request
# and bounds how long a removed membership lingers (tokens themselves live minutes).
GROUPS_TTL = 1.0
# Basic credentials are short; bound the work done on hostile headers.
MAX_CREDENTIAL_LENGTH = 4096

Monotonic = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated user: the subject of the token and the input of ACL evaluation."""

    user_id: int
    name: str
    groups: frozenset[str]
    # True when the caller presented a refresh token rather than a password.
    via_refresh_token: bool = False


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """The user name and password of an ``Authorization: Basic`` header (RFC 7617)."""

    username: str
    password: str

    def __repr__(self) -> str:
        """Never show the password (STYLE §16)."""
        return f"BasicCredentials(username={self.username!r}, password='***')"


def parse_basic(header: str) -> BasicCredentials:
    """Decode ``Basic base64(user:password)``; raise UNAUTHORIZED if it is malformed."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise AuthError(ErrorCode.UNAUTHORIZED, "unsupported authorization scheme (use Basic)")
    value = value.strip()
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise AuthError(ErrorCode.UNAUTHORIZED, "malformed Basic credentials")
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(ErrorCode.UNAUTHORIZED, "malformed Basic credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthError(ErrorCode.UNAUTHORIZED, "malformed Basic credentials")
    return BasicCredentials(username, password)


@dataclass(slots=True)
class _Verified:
    user_id: int
    password_hash: str
    expires: float


class CredentialCache:
    """Recently verified (user, password) pairs, keyed by an HMAC (issue 5 T2)."""

    def __init__(
        self, ttl: float, *, max_entries: int = CACHE_MAX_ENTRIES, clock: Monotonic = time.monotonic
    ) -> None:
        """Keep entries for ``ttl`` seconds (0 disables the cache), at most ``max_entries``."""
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _Verified] = OrderedDict()

    def __len__(self) -> int:
        """The number of entries held (expired ones included until they are looked up)."""
        return len(self._entries)

    def key(self, username: str, password: str) -> bytes:
        """The HMAC-SHA256 of the length-prefixed pair, so no two pairs share an encoding."""
        user = username.encode("utf-8")
        message = len(user).to_bytes(4, "big") + user + password.encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def check(self, key: bytes, user: store.UserRecord) -> bool:
        """True if ``key`` was verified for this very row: same id and hash, still enabled."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        if (
            entry.expires <= self._clock()
            or user.disabled
            or entry.user_id != user.id
            or not hmac.compare_digest(entry.password_hash, user.password_hash or "")
        ):
            # The password changed, the user was disabled or recreated, or the entry aged out.
            del self._entries[key]
            return False
        return True

    def put(self, key: bytes, user_id: int, password_hash: str) -> None:
        """Remember a successful verification against ``password_hash``."""
        if self._ttl <= 0:
            return
        self._entries[key] = _Verified(user_id, password_hash, self._clock() + self._ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def discard(self, key: bytes) -> None:
        """Forget one entry."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()


class Authenticator:
    """Turns credentials into an Identity; raises ``AuthError(UNAUTHORIZED)`` when they fail."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        hasher: PasswordHasher,
        executor: Executor,
        refresh_tokens: RefreshTokens,
        *,
        cache_ttl: float,
        clock: Monotonic = time.monotonic,
    ) -> None:
        """Wire the store, the hasher and its thread pool, and the refresh-token service."""
        self._sessionmaker = sessionmaker
        self._hasher = hasher
        self._executor = executor
        self._refresh = refresh_tokens
        self._clock = clock
        self.cache = CredentialCache(cache_ttl, clock=clock)
        self._verifications: SingleFlight[VerifyResult] = SingleFlight()
        self._groups: dict[int, tuple[float, frozenset[str]]] = {}
        self._user_reads: SingleFlight[store.UserRecord | None] = SingleFlight()
        self._group_reads: SingleFlight[frozenset[str]] = SingleFlight()

    async def authenticate(self, credentials: BasicCredentials, *, service: str) -> Identity:
        """Basic credentials: ``user:password``, or ``:refresh-token`` (containerd's fallback)."""
        if credentials.username == "":
            return await self.authenticate_refresh_token(credentials.password, service=service)
        return await self.authenticate_password(credentials.username, credentials.password)

    async def authenticate_password(self, username: str, password: str) -> Identity:
        """Verify a user name and password against the store (argon2id off the event loop)."""
        try:
            name = normalize_username(username)
        except ValueError:
            # No such user can exist, so there is no timing to equalise.
            raise AuthError(ErrorCode.UNAUTHORIZED, "invalid username or password") from None
        if len(password) > MAX_CREDENTIAL_LENGTH:
            raise AuthError(ErrorCode.UNAUTHORIZED, "invalid username or password")
        key = self.cache.key(name, password)
        # The row is read on every request, so a changed password or disabled flag takes effect
        # at once (issue 5 T2); no connection is held while argon2id runs.
        user = await self._read_user(name)
        if user is not None and self.cache.check(key, user):
            return await self._identity(None, user)
        result = await self._verify(key, password, user.password_hash if user else None)
        if user is None or not result.ok:
            raise AuthError(ErrorCode.UNAUTHORIZED, "invalid username or password")
        # Disabled is reported only to someone who knows the password.
        if user.disabled:
            raise AuthError(ErrorCode.UNAUTHORIZED, "user account is disabled")
        async with self._sessionmaker() as session:
            # expected_hash: a password changed meanwhile is never overwritten by this rehash.
            await store.record_login(
                session, user.id, utcnow(), result.new_hash, expected_hash=user.password_hash
            )
            await session.commit()
            identity = await self._identity(session, user)
        self.cache.put(key, user.id, result.new_hash or user.password_hash)
        return identity

    async def _read_user(self, name: str) -> store.UserRecord | None:
        # Concurrent requests for the same user share one query (single flight): under load
        # (clients fetch tokens in parallel) this divides the per-request database cost, and
        # every request still sees a row read after it arrived or at most one query earlier.
        return await self._user_reads.do(name, lambda: self._load_user(name))

    async def _load_user(self, name: str) -> store.UserRecord | None:
        async with self._sessionmaker() as session:
            return await store.get_user(session, name)

    async def authenticate_refresh_token(self, secret: str, *, service: str) -> Identity:
        """Resolve a refresh token to its (enabled) user."""
        user = await self._refresh.resolve(secret, service=service)
        identity = await self._identity(None, user)
        return Identity(identity.user_id, identity.name, identity.groups, via_refresh_token=True)

    async def _verify(self, key: bytes, password: str, stored: str | None) -> VerifyResult:
        # Concurrent requests with the same credentials against the same hash share one
        # verification (clients fetch several tokens in parallel).
        loop = asyncio.get_running_loop()
        return await self._verifications.do(
            (key, stored),
            lambda: loop.run_in_executor(self._executor, self._hasher.verify, password, stored),
        )

    async def _identity(self, session: AsyncSession | None, user: store.UserRecord) -> Identity:
        return Identity(user.id, user.name, await self._groups_of(session, user.id))

    async def _groups_of(self, session: AsyncSession | None, user_id: int) -> frozenset[str]:
        cached = self._groups.get(user_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        if session is not None:
            groups = await store.groups_of(session, user_id)
        else:
            groups = await self._group_reads.do(user_id, lambda: self._load_groups(user_id))
        if len(self._groups) >= CACHE_MAX_ENTRIES:
            self._groups.clear()
        self._groups[user_id] = (self._clock() + GROUPS_TTL, groups)
        return groups

    async def _load_groups(self, user_id: int) -> frozenset[str]:
        async with self._sessionmaker() as session:
            return await store.groups_of(session, user_id)
