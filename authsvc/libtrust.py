"""The libtrust key ID (docker/libtrust keyIDFromCryptoKey) that Distribution 2.8 matches."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes


def key_id(public_key: PublicKeyTypes) -> str:
    """Return the libtrust ID: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32.

    libtrust truncates the digest to 30 bytes so that base32 needs no padding (48 characters),
    then writes 12 groups of 4 characters joined by ``:`` (libtrust's ``keyIDEncode`` in
    ``util.go``); Distribution 2.8's token verifier looks the ``kid`` up in this form.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
