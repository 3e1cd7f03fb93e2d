"""authsvc's one error table and its two wire forms: the registry envelope and OAuth2 bodies."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from http import HTTPStatus
from typing import Any


class ErrorCode(Enum):
    """Each code: (message, HTTP status for GET, OAuth2 error, HTTP status for POST).

    The GET form follows distribution's errcode envelope so that ``docker login`` prints the
    message; the POST form follows RFC 6749 §5.2, where a failed grant is 400
    ``invalid_grant``. containerd falls back from POST to GET on 400/401/404/405, so POST
    errors never use 403.
    """

    UNAUTHORIZED = ("authentication required", 401, "invalid_grant", 400)
    DENIED = ("requested access to the resource is denied", 403, "invalid_grant", 400)
    REQUEST_INVALID = ("invalid request", 400, "invalid_request", 400)
    CLIENT_INVALID = ("invalid client_id", 400, "invalid_client", 400)
    GRANT_UNSUPPORTED = ("unsupported grant_type", 400, "unsupported_grant_type", 400)
    SCOPE_INVALID = ("invalid scope", 400, "invalid_scope", 400)
    SERVICE_UNKNOWN = ("unknown service", 400, "invalid_request", 400)
    ACCOUNT_MISMATCH = ("account is not the signed-in user", 400, "invalid_request", 400)
    NOT_FOUND = ("not found", 404, "invalid_request", 404)
    # The admin API (RFC 9110 §15.5.10): the object exists already, or the change conflicts
    # with the current state (a member twice, a password the directory manages).
    CONFLICT = ("conflict with the current state", 409, "invalid_request", 409)
    # The admin API (RFC 9110 §15.5.21): well-formed JSON whose fields are invalid; a body that
    # is not JSON at all is REQUEST_INVALID (400).
    VALIDATION_FAILED = ("validation failed", 422, "invalid_request", 422)
    METHOD_NOT_ALLOWED = ("method not allowed", 405, "invalid_request", 405)
    # RFC 9110 §15.5.9: the client did not send the whole request in time.
    REQUEST_TIMEOUT = ("request body not received in time", 408, "invalid_request", 408)
    # RFC 9110 §15.5.14: bodies beyond MAX_REQUEST_BODY (token forms are a few hundred bytes).
    REQUEST_TOO_LARGE = ("request body too large", 413, "invalid_request", 413)
    # Distribution's errcode TOOMANYREQUESTS; the docker CLI prints the message.
    TOOMANYREQUESTS = ("too many requests", 429, "temporarily_unavailable", 429)
    UNAVAILABLE = ("service temporarily unavailable", 503, "temporarily_unavailable", 503)
    UNKNOWN = ("unknown error", 500, "server_error", 500)

    def __init__(self, message: str, status: int, oauth_error: str, oauth_status: int) -> None:
        self.message = message
        self.status = HTTPStatus(status)
        self.oauth_error = oauth_error
        self.oauth_status = HTTPStatus(oauth_status)


class AuthError(Exception):
    """The one exception the service layer raises; the error middleware renders it."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None = None,
        *,
        detail: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Carry a code, an optional specific message and detail, and extra response headers."""
        super().__init__(message or code.message)
        self.code = code
        self.message = message or code.message
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})


def envelope(error: AuthError) -> dict[str, Any]:
    """Serialise as ``{"errors": [{"code", "message", "detail"}]}`` like the registry does."""
    return {"errors": [{"code": error.code.name, "message": error.message, "detail": error.detail}]}


def _oauth_text(text: str) -> str:
    # RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "'" for c in text)


def oauth_body(error: AuthError) -> dict[str, Any]:
    """Serialise as an RFC 6749 §5.2 error body, plus the envelope for docker's error display.

    dockerd's token client parses only the ``errors`` envelope, so a revoked identity token
    would otherwise surface as an opaque "unexpected response"; OAuth2 clients ignore extra
    members.
    """
    body: dict[str, Any] = {
        "error": error.code.oauth_error,
        "error_description": _oauth_text(error.message),
    }
    body.update(envelope(error))
    return body
