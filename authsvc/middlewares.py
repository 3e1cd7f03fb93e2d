"""The error middleware: the one place that turns failures into JSON responses."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from authsvc import metrics, store
from authsvc.appkeys import CONFIG
from authsvc.authn.types import BackendUnavailable
from authsvc.errors import AuthError, ErrorCode, envelope, oauth_body

log = logging.getLogger(__name__)

# RFC 9110 §10.2.3: with 503, Retry-After tells clients when the outage may be over; the
# database usually comes back (or fails over) within seconds.
RETRY_AFTER = "5"

_HTTP_CODES = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.REQUEST_TOO_LARGE,
}


def error_response(request: web.Request, error: AuthError) -> web.Response:
    """Render ``error``: OAuth2 (RFC 6749 §5.2) for the token endpoint's POST, else the envelope."""
    if request.method == "POST" and request.path == "/auth":
        response = web.json_response(oauth_body(error), status=error.code.oauth_status)
    else:
        response = web.json_response(envelope(error), status=error.code.status)
    response.headers.update(error.headers)
    if response.status == 401:
        # RFC 7235 §4.1: a 401 names the scheme to use; docker login then retries with Basic.
        realm = request.app[CONFIG].server.realm.replace("\\", "\\\\").replace('"', '\\"')
        response.headers["WWW-Authenticate"] = f'Basic realm="{realm}"'
    # RFC 6749 §5.1/§5.2: token endpoint responses must not be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _unavailable(exc: store.StoreUnavailable) -> AuthError:
    # The store's message names the failure (refused, timed out, no such table) in one line:
    # no URL, no password, no statement and no parameters.
    log.warning("database unavailable: %s", exc)
    metrics.DATABASE_ERRORS.inc()
    return AuthError(
        ErrorCode.UNAVAILABLE,
        "the user database is unavailable; try again later",
        headers={"Retry-After": RETRY_AFTER},
    )


def _backend_unavailable(exc: BackendUnavailable) -> AuthError:
    log.warning("identity backend unavailable: %s", exc)
    return AuthError(
        ErrorCode.UNAVAILABLE,
        "the identity backend is unavailable; try again later",
        headers={"Retry-After": RETRY_AFTER},
    )


def _from_http_exception(exc: web.HTTPException) -> AuthError:
    code = _HTTP_CODES.get(exc.status, ErrorCode.REQUEST_INVALID)
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    message = code.message if exc.status in _HTTP_CODES else exc.reason.lower()
    return AuthError(code, message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Catch AuthError, aiohttp HTTP errors, database outages and bugs; answer in JSON."""
    try:
        if len(request.headers.getall("Authorization", ())) > 1:
            # Which credential counts would be a guess, and a proxy may have checked the other.
            raise AuthError(ErrorCode.REQUEST_INVALID, "more than one Authorization header")
        return await handler(request)
    except AuthError as exc:
        error = exc
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _from_http_exception(exc)
    except store.StoreUnavailable as exc:
        error = _unavailable(exc)
    except BackendUnavailable as exc:
        error = _backend_unavailable(exc)
    except Exception as exc:
        # A session opened without store.transaction lets the driver's exception through; the
        # store still decides whether it is an outage, so the answer is the same 503.
        translated = store.as_store_error(exc)
        if isinstance(translated, store.StoreUnavailable):
            error = _unavailable(translated)
        else:
            log.exception("unhandled error on %s %s", request.method, request.path)
            error = AuthError(ErrorCode.UNKNOWN)
    return error_response(request, error)


@web.middleware
async def body_timeout_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request body within ``server.body_timeout`` seconds, or answer 408 and hang up.

    authsvc's bodies are small forms and JSON documents (at most MAX_REQUEST_BODY), so the
    whole body is read here, once; handlers then get it from aiohttp's cache. A client that
    trickles its body (slow loris) holds a connection for this long at most.
    """
    # is_eof: the whole body came with the headers (the usual small form), so nothing can stall
    # and no timer is needed.
    if request.body_exists and not request.content.is_eof():
        try:
            async with asyncio.timeout(request.app[CONFIG].server.body_timeout):
                await request.read()
        except TimeoutError:
            log.warning("request body from %s not received in time", request.remote)
            response = error_response(request, AuthError(ErrorCode.REQUEST_TIMEOUT))
            response.force_close()
            return response
    return await handler(request)
