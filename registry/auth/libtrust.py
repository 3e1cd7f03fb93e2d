"""The libtrust key ID, the `kid` that Distribution 2.8 looks trusted keys up by.

docker/libtrust `keyIDFromCryptoKey`: SHA-256 over the DER SubjectPublicKeyInfo, keep the
first 240 bits (30 bytes, so base32 needs no padding), base32-encode (RFC 4648 §6, upper
case) and write the 48 characters as 12 groups of 4 joined by ':'.  authsvc writes the same
ID into the token header, so both sides must agree on every step.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_TRUNCATED_BYTES = 30  # 240 bits
_GROUP = 4


def key_id(public_key: PublicKeyTypes) -> str:
    """Return the libtrust key ID of a public key (e.g. `LTJF:F6YM:...:VLFS`)."""
    spki = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(spki).digest()[:_TRUNCATED_BYTES]
    text = base64.b32encode(digest).decode("ascii")
    return ":".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))
