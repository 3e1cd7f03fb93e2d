"""Pure parsing of a compact JWS token into a typed header and claim set.

Mirrors Distribution 2.8's `NewToken` (registry/auth/token/token.go): exactly three
base64url segments (RFC 7515 §7.1), and JSON decoded into Go structs, so each known member
must have the Go field's type. In particular `aud` must be a string (2.8 has no audience
list) and `exp`/`nbf`/`iat` must be JSON integers: Go's `int64` refuses `1.7e9` and
`1700000000.0`. A member that is JSON `null` or absent takes the zero value, as in Go.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from svckit.catalog_filter import CLAIM as CATALOG_CLAIM

_SEGMENT_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

ResourceActions = tuple[str, str, tuple[str, ...]]  # (type, name, actions)


class MalformedToken(Exception):
    """The token is not a well-formed JWS with Distribution's header and claim types."""


@dataclass(frozen=True, slots=True)
class Header:
    """The JOSE header members Distribution reads (RFC 7515 §4.1)."""

    alg: str
    kid: str
    x5c: tuple[str, ...]
    jwk: object | None


@dataclass(frozen=True, slots=True)
class Claims:
    """The registered claims (RFC 7519 §4.1) and Distribution's private `access` claim."""

    iss: str
    sub: str
    aud: str
    exp: int
    nbf: int
    iat: int
    jti: str
    access: tuple[ResourceActions, ...]
    # authsvc's private catalog-filter claim (svckit.catalog_filter), unparsed; None if absent.
    catalog: object = None


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A parsed, not yet verified token."""

    header: Header
    claims: Claims
    signing_input: bytes
    signature: bytes


def b64url_decode(segment: str) -> bytes:
    """Decode base64url with or without padding, strictly (Go `joseBase64UrlDecode`)."""
    if not _SEGMENT_RE.fullmatch(segment):
        raise MalformedToken("illegal base64url character")
    missing = -len(segment) % 4
    if missing == 3:
        raise MalformedToken("illegal base64url length")
    try:
        return base64.b64decode(segment + "=" * missing, altchars=b"-_", validate=True)
    except binascii.Error:
        raise MalformedToken("illegal base64url string") from None


def _reject_constant(name: str) -> None:
    # JSON (RFC 8259 §6) has no NaN or Infinity; Go's decoder refuses them.
    raise MalformedToken(f"invalid JSON number {name}")


def _json_object(data: bytes, what: str) -> Mapping[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedToken(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedToken(f"{what} is not a JSON object")
    return value


def _string(obj: Mapping[str, Any], member: str) -> str:
    value = obj.get(member)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedToken(f"{member} must be a string")
    return value


def _integer(obj: Mapping[str, Any], member: str) -> int:
    value = obj.get(member)
    if value is None:
        return 0
    # bool is an int subclass in Python but not a JSON number.
    if type(value) is not int or not _INT64_MIN <= value <= _INT64_MAX:
        raise MalformedToken(f"{member} must be an integer (NumericDate without fraction)")
    return value


def _strings(value: object, member: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedToken(f"{member} must be a list of strings")
    return tuple(value)


def _access(value: object) -> tuple[ResourceActions, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedToken("access must be a list")
    entries: list[ResourceActions] = []
    for item in value:
        if not isinstance(item, dict):
            raise MalformedToken("access entries must be objects")
        _string(item, "class")  # typed in Go's ResourceActions, otherwise unused
        actions = _strings(item.get("actions"), "access actions")
        entries.append((_string(item, "type"), _string(item, "name"), actions))
    return tuple(entries)


def parse_header(obj: Mapping[str, Any]) -> Header:
    """Type-check the JOSE header members."""
    _string(obj, "typ")
    return Header(
        alg=_string(obj, "alg"),
        kid=_string(obj, "kid"),
        x5c=_strings(obj.get("x5c"), "x5c"),
        jwk=obj.get("jwk"),
    )


def parse_claims(obj: Mapping[str, Any]) -> Claims:
    """Type-check the claim set."""
    return Claims(
        iss=_string(obj, "iss"),
        sub=_string(obj, "sub"),
        aud=_string(obj, "aud"),
        exp=_integer(obj, "exp"),
        nbf=_integer(obj, "nbf"),
        iat=_integer(obj, "iat"),
        jti=_string(obj, "jti"),
        access=_access(obj.get("access")),
        catalog=obj.get(CATALOG_CLAIM),
    )


def parse_token(raw: str) -> ParsedToken:
    """Split and decode a compact JWS (RFC 7515 §7.1); nothing is verified here."""
    parts = raw.split(".")
    if len(parts) != 3:
        raise MalformedToken("a token has three dot-separated parts")
    header = parse_header(_json_object(b64url_decode(parts[0]), "header"))
    claims = parse_claims(_json_object(b64url_decode(parts[1]), "claims"))
    signature = b64url_decode(parts[2])
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    return ParsedToken(header, claims, signing_input, signature)
