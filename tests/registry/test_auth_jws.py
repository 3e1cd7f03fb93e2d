"""Compact JWS parsing: strict base64url segments and malformed tokens (RFC 7515 §7.1)."""

from __future__ import annotations

import pytest

from registry.auth.jws import MalformedToken, b64url_decode, parse_token


@pytest.mark.parametrize("segment", ["a", "ab*c", "ab c", "abcde", "YQ===", "+/+/"])
def test_b64url_is_strict(segment: str) -> None:
    with pytest.raises(MalformedToken):
        b64url_decode(segment)


def test_b64url_padding_is_optional() -> None:
    assert b64url_decode("YQ") == b"a"
    assert b64url_decode("YQ==") == b"a"
    assert b64url_decode("_-8") == b"\xff\xef"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a.b",
        "a.b.c.d",
        "e30.e30",
        "W10.e30.",
        "e30.W10.",
        "bnVsbA.e30.",
        "e30.eyJleHAiOk5hTn0.",
    ],
    ids=["empty", "two", "four", "no-sig-part", "header-array", "claims-array", "null", "nan"],
)
def test_parse_token_rejects_malformed(raw: str) -> None:
    with pytest.raises(MalformedToken):
        parse_token(raw)
