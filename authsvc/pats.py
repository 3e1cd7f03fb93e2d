"""Personal access token secrets: a recognisable, checksummed format and a keyed hash.

A secret looks like ``asvc_pat_`` followed by 32 base62 characters of randomness (190 bits) and
6 base62 characters of CRC-32 over them, the layout GitHub chose for its tokens: the prefix
lets secret scanners find a leaked token, and the checksum rejects a mistyped or truncated one
without a database lookup. The database keeps only an HMAC-SHA256 of the secret: the secret has
far too much entropy for a dictionary attack, so a fast hash is as safe as argon2 here and
keeps token requests cheap; the key (``AUTHSVC_PAT_HASH_KEY``) means a copy of the database
alone cannot even confirm a guessed token. Pure code: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "asvc_pat_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 32
CHECK_LENGTH = 6
SECRET_LENGTH = len(PREFIX) + BODY_LENGTH + CHECK_LENGTH
# Used when no key is configured: still a keyed hash, with a key that is public.
DEFAULT_KEY = b"authsvc personal access token v1"


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def checksum(body: str) -> str:
    """The 6-character CRC-32 suffix of a secret's body."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECK_LENGTH)


def new_secret() -> str:
    """A fresh secret (shown to its owner once)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{PREFIX}{body}{checksum(body)}"


def looks_like_pat(text: str) -> bool:
    """True if ``text`` claims to be a personal access token (the prefix)."""
    return text.startswith(PREFIX)


# The whole format at once: one C-level match is cheaper than a Python loop per character, and
# every token request with a PAT checks it (bench T5).
_FORMAT = re.compile(f"{PREFIX}[0-9A-Za-z]{{{BODY_LENGTH + CHECK_LENGTH}}}", re.ASCII)


def well_formed(text: str) -> bool:
    """True if ``text`` has the format and a matching checksum (no lookup needed to say no)."""
    if len(text) != SECRET_LENGTH or _FORMAT.fullmatch(text) is None:
        return False
    body, check = text[len(PREFIX) : -CHECK_LENGTH], text[-CHECK_LENGTH:]
    return hmac.compare_digest(checksum(body), check)


def hash_secret(secret: str, key: bytes = DEFAULT_KEY) -> str:
    """The stored form: hex HMAC-SHA256 of the secret under ``key``."""
    # hmac.digest: the one-shot C implementation, without building an HMAC object per request.
    return hmac.digest(key, secret.encode("ascii"), hashlib.sha256).hex()
