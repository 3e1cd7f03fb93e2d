"""The signed `_state` token of upload URLs (registry/upload_token.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from registry.upload_token import UploadToken, UploadTokenError, pack, unpack

SECRET = b"replica-shared-secret"
TOKEN = UploadToken(
    "library/app", "0b8c1f1e-7a53-4d0b-9f5e-1f0a2c3d4e5f", 1234, "2026-12-03T17:00:00Z"
)


def test_a_packed_token_unpacks_to_the_same_state() -> None:
    assert unpack(SECRET, pack(SECRET, TOKEN)) == TOKEN


def test_the_token_is_url_safe_and_names_distributions_fields() -> None:
    raw = pack(SECRET, TOKEN)
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    payload = json.loads(base64.urlsafe_b64decode(raw)[32:])
    assert payload == {
        "Name": "library/app",
        "UUID": TOKEN.upload_id,
        "Offset": 1234,
        "StartedAt": "2026-12-03T17:00:00Z",
    }


def test_another_secret_is_refused() -> None:
    with pytest.raises(UploadTokenError, match="not signed"):
        unpack(b"another secret", pack(SECRET, TOKEN))


def test_a_tampered_payload_is_refused() -> None:
    blob = base64.urlsafe_b64decode(pack(SECRET, TOKEN))
    forged = blob[:32] + blob[32:].replace(b"1234", b"9999")
    with pytest.raises(UploadTokenError, match="not signed"):
        unpack(SECRET, base64.urlsafe_b64encode(forged).decode())


@pytest.mark.parametrize("raw", ["", "!!!", base64.urlsafe_b64encode(b"short").decode(), "é"])
def test_malformed_tokens_are_refused(raw: str) -> None:
    with pytest.raises(UploadTokenError):
        unpack(SECRET, raw)


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"not json",
        b'{"Name":"a","UUID":"b","Offset":-1,"StartedAt":""}',
        b'{"Name":"a","UUID":"b","Offset":true,"StartedAt":""}',
        b'{"Name":"a","UUID":"b","StartedAt":""}',
    ],
)
def test_a_signed_payload_that_is_no_upload_state_is_refused(payload: bytes) -> None:
    mac = hmac.new(SECRET, payload, hashlib.sha256).digest()
    with pytest.raises(UploadTokenError, match="upload state"):
        unpack(SECRET, base64.urlsafe_b64encode(mac + payload).decode())
