"""Decoding ``Authorization: Basic`` (RFC 7617) into credentials."""

from __future__ import annotations

import base64
import binascii

from authsvc.authn.types import CredentialKind, Credentials
from authsvc.errors import AuthError, ErrorCode

# Basic credentials are short; bound the work done on hostile headers.
MAX_CREDENTIAL_LENGTH = 4096


def parse_basic(header: str, *, service: str) -> Credentials:
    """Decode ``Basic base64(user:password)``; raise UNAUTHORIZED if it is malformed.

    An empty user name marks the password as a refresh token: containerd falls back to that
    form when the OAuth2 POST is not available.
    """
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
    kind = CredentialKind.PASSWORD if username else CredentialKind.REFRESH_TOKEN
    return Credentials(kind, username, password, service)
