"""Registry API error codes: one table mirroring distribution's registry/api/errcode + v2/errors.

Every error the registry answers with goes through `RegistryError` and `envelope()`, which
write the OCI distribution spec's body `{"errors": [{"code", "message", "detail"}]}`
("Error Codes" section).  The HTTP status comes from the table, never from a call site.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus


class ErrorCode(Enum):
    """(message, HTTP status, description) per code, as registered by Distribution."""

    BLOB_UNKNOWN = (
        "blob unknown to registry",
        HTTPStatus.NOT_FOUND,
        "The blob is not known to the registry in this repository.",
    )
    BLOB_UPLOAD_INVALID = (
        "blob upload invalid",
        HTTPStatus.BAD_REQUEST,
        "The blob upload encountered an error and can no longer proceed.",
    )
    BLOB_UPLOAD_UNKNOWN = (
        "blob upload unknown to registry",
        HTTPStatus.NOT_FOUND,
        "The upload session is unknown: it was cancelled, completed or never started.",
    )
    DIGEST_INVALID = (
        "provided digest did not match uploaded content",
        HTTPStatus.BAD_REQUEST,
        "The digest is malformed, unsupported, or does not match the content.",
    )
    MANIFEST_BLOB_UNKNOWN = (
        "blob unknown to registry",
        HTTPStatus.BAD_REQUEST,
        "A blob or manifest referenced by the manifest is not in the repository.",
    )
    MANIFEST_INVALID = (
        "manifest invalid",
        HTTPStatus.BAD_REQUEST,
        "The manifest failed validation; the detail says why.",
    )
    MANIFEST_UNKNOWN = (
        "manifest unknown",
        HTTPStatus.NOT_FOUND,
        "The manifest named by tag or digest is not in the repository.",
    )
    MANIFEST_UNVERIFIED = (
        "manifest failed signature verification",
        HTTPStatus.BAD_REQUEST,
        "Kept for compatibility: signed schema 1 manifests are not accepted.",
    )
    NAME_INVALID = (
        "invalid repository name",
        HTTPStatus.BAD_REQUEST,
        "The repository name does not follow the name grammar.",
    )
    NAME_UNKNOWN = (
        "repository name not known to registry",
        HTTPStatus.NOT_FOUND,
        "The repository has no manifests or tags.",
    )
    SIZE_INVALID = (
        "provided length did not match content length",
        HTTPStatus.BAD_REQUEST,
        "The length given does not match the content received, or exceeds the limit.",
    )
    TAG_INVALID = (
        "manifest tag did not match URI",
        HTTPStatus.BAD_REQUEST,
        "The tag in the URL is not a valid tag.",
    )
    RANGE_INVALID = (
        "invalid content range",
        HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
        "The chunk does not start at the upload's current offset, or its range is malformed.",
    )
    PAGINATION_NUMBER_INVALID = (
        "invalid number of results requested",
        HTTPStatus.BAD_REQUEST,
        "The `n` query parameter is not a non-negative integer within the limit.",
    )
    UNAUTHORIZED = (
        "authentication required",
        HTTPStatus.UNAUTHORIZED,
        "A valid bearer token with the needed access is required.",
    )
    DENIED = (
        "requested access to the resource is denied",
        HTTPStatus.FORBIDDEN,
        "The access controller denied access for the operation.",
    )
    UNSUPPORTED = (
        "The operation is unsupported.",
        HTTPStatus.METHOD_NOT_ALLOWED,
        "The operation is not supported: unknown endpoint, deletes disabled, or read-only mode.",
    )
    # Ours: Distribution has no code for a request it cannot read unambiguously.
    REQUEST_INVALID = (
        "the request is malformed or ambiguous",
        HTTPStatus.BAD_REQUEST,
        "The request cannot be served as sent, e.g. it carries two Authorization headers.",
    )
    # Ours: Distribution answers a full disk with UNKNOWN/500, which reads like a bug.
    STORAGE_FULL = (
        "the registry's storage is full",
        HTTPStatus.INSUFFICIENT_STORAGE,
        "A write failed for lack of space; nothing partial was kept, and the push can be retried.",
    )
    TOOMANYREQUESTS = (
        "too many requests",
        HTTPStatus.TOO_MANY_REQUESTS,
        "The client sent too many requests.",
    )
    UNAVAILABLE = (
        "service unavailable",
        HTTPStatus.SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable.",
    )
    UNKNOWN = (
        "unknown error",
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "An unexpected error; the server log has the details.",
    )

    def __init__(self, message: str, status: HTTPStatus, description: str) -> None:
        self.message = message
        self.status = status
        self.description = description


# NOTE: not frozen: Python (contextlib, asyncio) assigns __traceback__ on exceptions.
@dataclass(eq=False)
class RegistryError(Exception):
    """One API error: a code from the table, with an optional detail, message and headers.

    `status` overrides the table only to pass through the status of a framework error
    (an unmatched route's 404 or 405), never at a handler's call site.
    """

    code: ErrorCode
    detail: object | None = None
    message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    status: HTTPStatus | None = None

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message or self.code.message}"

    @property
    def http_status(self) -> HTTPStatus:
        """The HTTP status to answer with."""
        return self.status or self.code.status

    def as_dict(self) -> dict[str, object]:
        """This error as one entry of the envelope's list."""
        return {
            "code": self.code.name,
            "message": self.message or self.code.message,
            "detail": self.detail,
        }


class RegistryErrors(Exception):
    """Several errors answered together (e.g. one MANIFEST_BLOB_UNKNOWN per missing blob)."""

    def __init__(self, errors: Sequence[RegistryError]) -> None:
        if not errors:
            raise ValueError("RegistryErrors needs at least one error")
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = tuple(errors)


def envelope(*errors: RegistryError) -> dict[str, list[dict[str, object]]]:
    """Serialise errors as {"errors": [{code, message, detail}]} (OCI distribution spec)."""
    return {"errors": [error.as_dict() for error in errors]}
