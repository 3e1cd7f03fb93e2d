"""Password hashing: argon2id for new hashes, bcrypt (from htpasswd files) verified and upgraded.

One passlib ``CryptContext`` decides everything (warehouse's ``verify_and_update`` pattern): new
hashes are argon2id with the configured cost; bcrypt is a deprecated scheme, so a successful
bcrypt verify yields an argon2id replacement, and so does an argon2id hash made with other cost
parameters. An unknown user still costs one full verify, so response times do not tell which user
names exist (docker_auth's static authenticator returns early and leaks exactly that). Hashing is
CPU-bound and synchronous: callers run it in a thread.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from passlib.context import CryptContext

from authsvc.config import PasswordConfig

# bcrypt only looks at the first 72 bytes; Apache's htpasswd and OpenBSD's bcrypt truncate
# silently, while the bcrypt>=5 backend raises, so truncate exactly as the hash was made.
BCRYPT_MAX_BYTES = 72
# Longer passwords would not fit the token endpoint's bound on Basic credentials.
MAX_PASSWORD_LENGTH = 1024
_BCRYPT_RE = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Whether the password matched, and the replacement hash when the stored one is outdated."""

    ok: bool
    new_hash: str | None = field(default=None, repr=False)


def check_new_password(password: str) -> None:
    """Reject a password that could never be used to log in (ValueError with the reason)."""
    if not password:
        raise ValueError("the password must not be empty")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")


def generate_password() -> str:
    """A random password of 144 bits, URL-safe, for ``user add`` without ``--password-stdin``."""
    return secrets.token_urlsafe(18)


def is_bcrypt_hash(value: str) -> bool:
    """True for a well-formed bcrypt hash (``$2a$``/``$2b$``/``$2y$``), as htpasswd -B writes."""
    return _BCRYPT_RE.fullmatch(value) is not None


class PasswordHasher:
    """Hashes and verifies passwords under one CryptContext built from PasswordConfig."""

    def __init__(self, cfg: PasswordConfig) -> None:
        """Build the context and the dummy hash used for unknown users."""
        self._context = CryptContext(
            schemes=["argon2", "bcrypt"],
            deprecated=["bcrypt"],
            argon2__type="ID",
            argon2__memory_cost=cfg.argon2_memory_cost,
            argon2__rounds=cfg.argon2_time_cost,
            argon2__parallelism=cfg.argon2_parallelism,
        )
        # Same scheme and parameters as a real hash, so a dummy verify costs the same.
        self._dummy_hash: str = self._context.hash(secrets.token_urlsafe(16))

    def __repr__(self) -> str:
        """Show the scheme, never the dummy hash."""
        return "PasswordHasher(argon2id)"

    def hash(self, password: str) -> str:
        """Return a new argon2id hash of ``password``."""
        return str(self._context.hash(password))

    def verify(self, password: str, hash: str | None) -> VerifyResult:
        """Check ``password`` against ``hash`` (None: unknown user, still pays for a verify)."""
        if hash is None:
            self._context.verify(password, self._dummy_hash)
            return VerifyResult(False)
        secret: str | bytes = password
        if is_bcrypt_hash(hash):
            secret = password.encode("utf-8")[:BCRYPT_MAX_BYTES]
        try:
            ok = bool(self._context.verify(secret, hash))
        except ValueError:
            # A hash we cannot read (a broken row, an unsupported scheme) never matches; the
            # dummy verify keeps the timing of this branch like the others.
            self._context.verify(password, self._dummy_hash)
            return VerifyResult(False)
        if not ok:
            return VerifyResult(False)
        if self._context.needs_update(hash):
            return VerifyResult(True, self.hash(password))
        return VerifyResult(True)
