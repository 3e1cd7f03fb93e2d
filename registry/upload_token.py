"""The signed `_state` query parameter of an upload URL (Distribution's registry/handlers/hmac.go).

Distribution puts the upload's name, id, offset and start time into every upload Location it
returns, as base64url(HMAC-SHA256(secret, json) || json) keyed by `http.secret`, so that any
replica sharing the secret can check that a PATCH or PUT continues an upload it handed out and
at the offset the client was last told.  The upload's data stays in storage, which remains the
authority: the token only lets a replica refuse a forged or mixed-up URL early.

Pure functions: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

_MAC_SIZE = hashlib.sha256().digest_size


class UploadTokenError(ValueError):
    """The `_state` parameter is malformed or was not signed with this registry's secret."""


@dataclass(frozen=True, slots=True)
class UploadToken:
    """What the client was last told about an upload (Distribution's blobUploadState)."""

    name: str
    upload_id: str
    offset: int
    started_at: str


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()


def pack(secret: bytes, token: UploadToken) -> str:
    """Encode and sign a token for an upload URL's `_state` parameter."""
    # Distribution's field names, so that a token is readable by the same eyes.
    payload = json.dumps(
        {
            "Name": token.name,
            "UUID": token.upload_id,
            "Offset": token.offset,
            "StartedAt": token.started_at,
        },
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(_mac(secret, payload) + payload).decode("ascii")


def unpack(secret: bytes, raw: str) -> UploadToken:
    """Verify and decode a `_state` value (UploadTokenError if forged or malformed)."""
    try:
        blob = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise UploadTokenError("_state is not base64url") from None
    if len(blob) <= _MAC_SIZE:
        raise UploadTokenError("_state is too short")
    mac, payload = blob[:_MAC_SIZE], blob[_MAC_SIZE:]
    # Constant-time comparison: a timing oracle would let a client forge tokens byte by byte.
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise UploadTokenError("_state was not signed with this registry's http.secret")
    try:
        fields = json.loads(payload)
        token = UploadToken(
            name=fields["Name"],
            upload_id=fields["UUID"],
            offset=fields["Offset"],
            started_at=fields["StartedAt"],
        )
    except (ValueError, KeyError, TypeError):
        raise UploadTokenError("_state does not hold an upload state") from None
    if not (
        isinstance(token.name, str)
        and isinstance(token.upload_id, str)
        and isinstance(token.offset, int)
        and not isinstance(token.offset, bool)
        and token.offset >= 0
        and isinstance(token.started_at, str)
    ):
        raise UploadTokenError("_state does not hold an upload state")
    return token
