"""The error-code table and the JSON envelope (OCI distribution spec "Error Codes")."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from registry.errcode import ErrorCode, RegistryError, RegistryErrors, envelope

# Distribution's register.go and api/v2/errors.go, plus the spec's list.
EXPECTED = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "MANIFEST_UNVERIFIED": 400,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "TAG_INVALID": 400,
    "RANGE_INVALID": 416,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "UNAVAILABLE": 503,
    "UNKNOWN": 500,
    # Ours, for what Distribution answers with UNKNOWN/500 or not at all.
    "REQUEST_INVALID": 400,
    "STORAGE_FULL": 507,
}


@pytest.mark.parametrize(("name", "status"), sorted(EXPECTED.items()))
def test_status_per_code(name: str, status: int) -> None:
    code = ErrorCode[name]
    assert code.status == status
    assert code.message and code.description


def test_table_is_complete() -> None:
    assert {code.name for code in ErrorCode} == set(EXPECTED)


def test_envelope_shape() -> None:
    error = RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": "sha256:ab"})
    assert envelope(error) == {
        "errors": [
            {
                "code": "BLOB_UNKNOWN",
                "message": "blob unknown to registry",
                "detail": {"digest": "sha256:ab"},
            }
        ]
    }
    json.dumps(envelope(error))


def test_envelope_with_several_errors_and_custom_message() -> None:
    first = RegistryError(ErrorCode.MANIFEST_INVALID, message="manifest invalid: schema 1")
    second = RegistryError(ErrorCode.MANIFEST_BLOB_UNKNOWN)
    body = envelope(first, second)
    assert [e["code"] for e in body["errors"]] == ["MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN"]
    assert body["errors"][0]["message"] == "manifest invalid: schema 1"
    assert body["errors"][1]["detail"] is None


def test_status_override_and_headers() -> None:
    error = RegistryError(ErrorCode.UNAUTHORIZED, headers={"WWW-Authenticate": 'Bearer realm="x"'})
    assert error.http_status == HTTPStatus.UNAUTHORIZED
    assert error.headers["WWW-Authenticate"] == 'Bearer realm="x"'
    passthrough = RegistryError(ErrorCode.UNSUPPORTED, status=HTTPStatus.NOT_FOUND)
    assert passthrough.http_status == HTTPStatus.NOT_FOUND
    assert "UNSUPPORTED" in str(passthrough)


def test_registry_error_can_be_raised_and_chained() -> None:
    with pytest.raises(RegistryError) as info:
        try:
            raise ValueError("inner")
        except ValueError as exc:
            raise RegistryError(ErrorCode.DIGEST_INVALID, detail=str(exc)) from exc
    assert info.value.code is ErrorCode.DIGEST_INVALID
    assert info.value.__traceback__ is not None


def test_registry_errors_needs_one() -> None:
    with pytest.raises(ValueError):
        RegistryErrors([])
    group = RegistryErrors([RegistryError(ErrorCode.SIZE_INVALID)])
    assert group.errors[0].code is ErrorCode.SIZE_INVALID
