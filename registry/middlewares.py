"""The dispatcher: API-version header, auth, read-only guard and the JSON error envelope.

Distribution checks auth once before any handler (registry/handlers/app.go `dispatcher`),
then the repository name, and answers every failure with the errcode envelope.  One
middleware does the same here; storage errors are mapped to error codes in `from_storage`.
"""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from registry.appkeys import CONFIG, PRINCIPAL
from registry.auth import AuthChallenge, TokenVerifier, required_access
from registry.errcode import ErrorCode, RegistryError, RegistryErrors, envelope
from registry.handlers.common import CATALOG_ROUTE, DIGEST_HEADER
from registry.reference import NAME_MAX_LENGTH
from registry.storage.errors import (
    BlobTooLarge,
    BlobUnknown,
    BlobUploadUnknown,
    DigestMismatch,
    InvalidOffset,
    ManifestUnknown,
    RepositoryUnknown,
    SizeMismatch,
    StorageError,
    TagUnknown,
)
from svckit.httpserver import RateLimitedLog

log = logging.getLogger(__name__)

# A full disk fails every write until space is freed: one warning a minute says so.
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_NO_SPACE_LOG = RateLimitedLog(60.0, log)

API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: API version on every response (spec "API Version Check").

    It also restores the digest ETag on blob downloads: FileResponse sets an mtime-based
    ETag just before preparing, while Distribution (and clients' caches) use the digest.
    """
    response.headers[API_VERSION_HEADER] = API_VERSION
    if isinstance(response, web.FileResponse) and (digest := response.headers.get(DIGEST_HEADER)):
        response.headers["ETag"] = f'"{digest}"'


def from_storage(exc: StorageError) -> RegistryError:
    """The one mapping from storage errors to API error codes."""
    match exc:
        case BlobUnknown():
            return RegistryError(ErrorCode.BLOB_UNKNOWN, detail={"digest": str(exc.digest)})
        case BlobUploadUnknown():
            return RegistryError(ErrorCode.BLOB_UPLOAD_UNKNOWN, detail={"uuid": exc.upload_id})
        case ManifestUnknown() | TagUnknown():
            return RegistryError(ErrorCode.MANIFEST_UNKNOWN, detail=str(exc))
        case RepositoryUnknown():
            return RegistryError(ErrorCode.NAME_UNKNOWN, detail={"name": exc.name})
        case InvalidOffset():
            return RegistryError(ErrorCode.RANGE_INVALID, detail=str(exc))
        case DigestMismatch():
            return RegistryError(ErrorCode.DIGEST_INVALID, detail=str(exc))
        case SizeMismatch() | BlobTooLarge():
            return RegistryError(ErrorCode.SIZE_INVALID, detail=str(exc))
    return RegistryError(ErrorCode.UNKNOWN, detail=str(exc))


_HTTP_ERRORS = {
    HTTPStatus.NOT_FOUND: (ErrorCode.UNSUPPORTED, "no such endpoint in the registry API"),
    HTTPStatus.METHOD_NOT_ALLOWED: (ErrorCode.UNSUPPORTED, "method not allowed on this endpoint"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: (ErrorCode.SIZE_INVALID, "request body too large"),
}


def _from_http(exc: web.HTTPException) -> RegistryError:
    """An aiohttp error (no route, wrong method, body too large) as an envelope."""
    status = HTTPStatus(exc.status)
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    code, message = _HTTP_ERRORS.get(status, (ErrorCode.UNKNOWN, status.phrase.lower()))
    return RegistryError(code, message=message, headers=headers, status=status)


def error_response(*errors: RegistryError) -> web.Response:
    """The JSON envelope response for one or more errors (status and headers of the first)."""
    first = errors[0]
    return web.json_response(
        envelope(*errors), status=first.http_status, headers=dict(first.headers)
    )


def make_dispatcher(verifier: TokenVerifier | None) -> Middleware:
    """Build the single middleware; `verifier` is None when auth.token is not configured."""

    def authorize(request: web.Request, verifier: TokenVerifier, name: str | None) -> None:
        # Verification is CPU-only and cached per token, so it runs inline (no thread hop).
        route_name = request.match_info.route.name
        needed = required_access(request.method, name, catalog=route_name == CATALOG_ROUTE)
        try:
            principal = verifier.authorize(request.headers.get("Authorization"), needed)
        except AuthChallenge as challenge:
            raise RegistryError(
                ErrorCode.UNAUTHORIZED,
                detail=[{"Type": a.type, "Name": a.name, "Action": a.action} for a in needed],
                headers={"WWW-Authenticate": challenge.header()},
            ) from None
        request[PRINCIPAL] = principal

    def check(request: web.Request) -> None:
        # Two credentials: a proxy in front may have checked the other one (RFC 9110 §5.3
        # allows repeating only list-valued fields, which Authorization is not).
        if len(request.headers.getall("Authorization", ())) > 1:
            raise RegistryError(
                ErrorCode.REQUEST_INVALID, detail="more than one Authorization header"
            )
        name = request.match_info.get("name")
        if verifier is not None:
            authorize(request, verifier, name)
        if name is not None and len(name) > NAME_MAX_LENGTH:
            raise RegistryError(
                ErrorCode.NAME_INVALID, detail=f"longer than {NAME_MAX_LENGTH} characters"
            )
        # Read-only mode is a policy of the HTTP API, so it is enforced here and only here:
        # gc and the CLI work on the storage root directly, as Distribution's do.
        if request.method in _WRITE_METHODS and request.app[CONFIG].storage.readonly:
            raise RegistryError(ErrorCode.UNSUPPORTED, detail="the registry is in read-only mode")

    @web.middleware
    async def dispatcher(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            # Unmatched routes skip auth, as Distribution's router answers them first.
            if request.match_info.http_exception is None:
                check(request)
            return await handler(request)
        except RegistryError as exc:
            return error_response(exc)
        except RegistryErrors as exc:
            return error_response(*exc.errors)
        except StorageError as exc:
            return error_response(from_storage(exc))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(_from_http(exc))
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                if isinstance(exc, ConnectionError):
                    # The client went away mid-request (an aborted upload): nothing to answer.
                    log.debug("client disconnected during %s %s", request.method, request.path)
                    raise
                log.exception("unhandled error in %s %s", request.method, request.path)
                return error_response(RegistryError(ErrorCode.UNKNOWN))
            _NO_SPACE_LOG.warning(
                "storage full: %s %s failed: %s", request.method, request.path, exc.strerror
            )
            return error_response(
                RegistryError(ErrorCode.STORAGE_FULL, detail={"error": exc.strerror or str(exc)})
            )
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(RegistryError(ErrorCode.UNKNOWN))

    return dispatcher
