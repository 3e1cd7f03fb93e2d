"""Blob uploads (spec end-4a/4b, end-5, end-6, end-11, end-13 and cancel).

Bodies are streamed straight from `request.content` into the upload store, which hashes and
writes them off the event loop; nothing holds a whole blob in memory.  The upload's state is
in storage only, so a session survives a registry restart and its requests may land on any
replica sharing the storage.  With `http.secret` set, every upload Location also carries
Distribution's signed `_state` (registry/upload_token.py), checked on each later request.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator

from aiohttp import web

from registry.appkeys import CONFIG
from registry.errcode import ErrorCode, RegistryError
from registry.handlers import notify
from registry.handlers.common import (
    DIGEST_HEADER,
    NAME,
    UPLOAD_ID,
    may_pull,
    parse_digest,
    repository,
    storage,
    upload_headers,
)
from registry.reference import is_name
from registry.storage.blobs import BlobInfo
from registry.storage.errors import BlobUnknown, InvalidOffset
from registry.storage.uploads import UploadState, format_started_at
from registry.upload_token import UploadTokenError, unpack
from svckit.httpserver import watched_body

routes = web.RouteTableDef()

UPLOADS = f"/v2/{NAME}/blobs/uploads/"
UPLOAD = f"/v2/{NAME}/blobs/uploads/{UPLOAD_ID}"

# Distribution accepts "start-end"; clients also send the RFC 9110 form "bytes start-end/len".
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?")


def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as it arrives (nothing for a request without a body).

    iter_any hands over whatever the socket delivered (no re-chunking copies); a client that
    stops sending for ``http.timeouts.body`` seconds is cut off, and the upload keeps what
    arrived, so it can resume.
    """
    return watched_body(request, request.app[CONFIG].http.body_timeout)


def _check_declared_size(request: web.Request) -> None:
    """Refuse before reading a body whose Content-Length exceeds the blob size limit."""
    limit = request.app[CONFIG].storage.max_blob_size
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise RegistryError(ErrorCode.SIZE_INVALID, detail=f"blobs are limited to {limit} bytes")


def _content_range(request: web.Request) -> int | None:
    """Start offset of a Content-Range chunk, checking it against Content-Length."""
    raw = request.headers.get("Content-Range")
    if raw is None:
        return None
    match = _CONTENT_RANGE.fullmatch(raw.strip())
    if match is None:
        raise RegistryError(ErrorCode.RANGE_INVALID, detail=f"malformed Content-Range {raw!r}")
    start, end = int(match[1]), int(match[2])
    if start > end:
        raise RegistryError(ErrorCode.RANGE_INVALID, detail=f"empty Content-Range {raw!r}")
    length = request.content_length
    if length is not None and length != end - start + 1:
        raise RegistryError(
            ErrorCode.SIZE_INVALID,
            detail=f"Content-Range {raw!r} does not match Content-Length {length}",
        )
    return start


def _secret(request: web.Request) -> bytes | None:
    secret = request.app[CONFIG].http.secret
    return None if secret is None else secret.encode()


def _headers(request: web.Request, state: UploadState) -> dict[str, str]:
    """Upload headers for a state the store reported, signed when a secret is configured."""
    return upload_headers(
        state.name,
        state.id,
        state.offset,
        secret=_secret(request),
        started_at=format_started_at(state.started_at),
    )


def _signed_offset(request: web.Request, name: str, upload_id: str) -> int | None:
    """Check the URL's `_state` token; return the offset the client was last told, if any.

    As in Distribution's blobUploadHandler: a token for another repository or upload, or one
    not signed with `http.secret`, gets 400 BLOB_UPLOAD_INVALID.  Unlike Distribution a URL
    without `_state` is accepted, because storage, not the token, is the upload's state and
    clients that build upload URLs themselves (the OCI conformance suite) omit it.
    """
    secret, raw = _secret(request), request.query.get("_state")
    if secret is None or raw is None:
        return None
    try:
        token = unpack(secret, raw)
    except UploadTokenError as exc:
        raise RegistryError(ErrorCode.BLOB_UPLOAD_INVALID, detail=str(exc)) from None
    if token.name != name or token.upload_id != upload_id:
        raise RegistryError(ErrorCode.BLOB_UPLOAD_INVALID, detail="_state names another upload")
    return token.offset


@contextlib.contextmanager
def _chunk_in_order(request: web.Request, name: str, upload_id: str) -> Iterator[None]:
    """Map the store's InvalidOffset to 416 RANGE_INVALID with the upload's Range and Location.

    Spec "Chunked Upload": a chunk that does not start where the upload is gets 416, and the
    client resumes from the Range the response reports.
    """
    try:
        yield
    except InvalidOffset as exc:
        raise RegistryError(
            ErrorCode.RANGE_INVALID,
            detail=str(exc),
            headers=upload_headers(name, upload_id, exc.expected, secret=_secret(request)),
        ) from None


def _start(request: web.Request, name: str, upload_id: str) -> int | None:
    """Where a chunk must start: its Content-Range, else the offset in the signed `_state`.

    A client that streams chunks without Content-Range (docker, skopeo) continues from the
    offset it was last told; if storage has moved on, for example because a replica died
    half-way through a chunk, it gets 416 with the real Range instead of a silently
    misaligned blob.  Distribution answers 400 there; 416 tells the client where to resume.
    """
    signed = _signed_offset(request, name, upload_id)
    start = _content_range(request)
    return signed if start is None else start


def _created(name: str, info: BlobInfo) -> web.Response:
    """201 for a blob that is now in the repository (spec "Completed Upload")."""
    return web.Response(
        status=201,
        headers={
            "Location": f"/v2/{name}/blobs/{info.digest}",
            DIGEST_HEADER: str(info.digest),
        },
    )


async def _try_mount(request: web.Request, name: str) -> web.Response | None:
    """Mount ?mount=<digest>&from=<repo> if allowed and present; None means fall back."""
    raw_digest, source = request.query.get("mount"), request.query.get("from")
    if not raw_digest or not source or not is_name(source) or source == name:
        return None
    try:
        digest = parse_digest(raw_digest, what="mount")
    except RegistryError:
        return None
    # Spec "Mounting a blob from another repository": mount only with pull access on the
    # source, so that a mount never discloses a blob; otherwise the client gets a normal
    # upload session (202), as Distribution answers.
    if not may_pull(request, source):
        return None
    try:
        info = await storage(request).blobs.mount(source, name, digest)
    except BlobUnknown:
        return None
    notify.blob_mounted(request, name, info.digest, info.size, source)
    return _created(name, info)


@routes.post(UPLOADS, name="uploads")
async def start_blob_upload(request: web.Request) -> web.Response:
    """Start an upload (202), upload monolithically with ?digest= (201), or mount (201)."""
    name = repository(request)
    if "mount" in request.query:
        mounted = await _try_mount(request, name)
        if mounted is not None:
            return mounted
    elif "digest" in request.query:
        digest = parse_digest(request.query.get("digest"))
        _check_declared_size(request)
        info = await storage(request).uploads.put_monolithic(name, digest, _body(request))
        notify.blob_pushed(request, name, info.digest, info.size)
        return _created(name, info)
    state = await storage(request).uploads.create(name)
    return web.Response(status=202, headers=_headers(request, state))


@routes.get(UPLOAD, name="upload")
async def get_blob_upload_status(request: web.Request) -> web.Response:
    """204 with Range = bytes received so far (spec end-13)."""
    name, upload_id = repository(request), request.match_info["upload_id"]
    _signed_offset(request, name, upload_id)
    state = await storage(request).uploads.status(name, upload_id)
    return web.Response(status=204, headers=_headers(request, state))


@routes.patch(UPLOAD, name="upload_patch")
async def patch_blob_data(request: web.Request) -> web.Response:
    """Append a chunk (202); a chunk not starting at the current offset gets 416."""
    name, upload_id = repository(request), request.match_info["upload_id"]
    _check_declared_size(request)
    start = _start(request, name, upload_id)
    uploads = storage(request).uploads
    with _chunk_in_order(request, name, upload_id):
        state = await uploads.append(name, upload_id, _body(request), start=start)
    return web.Response(status=202, headers=_headers(request, state))


@routes.put(UPLOAD, name="upload_put")
async def put_blob_upload_complete(request: web.Request) -> web.Response:
    """Finish with ?digest= and an optional last chunk: 201, digest and size verified."""
    name, upload_id = repository(request), request.match_info["upload_id"]
    digest = parse_digest(request.query.get("digest"))
    _check_declared_size(request)
    start = _start(request, name, upload_id)
    uploads = storage(request).uploads
    with _chunk_in_order(request, name, upload_id):
        info = await uploads.commit(name, upload_id, digest, _body(request), start=start)
    notify.blob_pushed(request, name, info.digest, info.size)
    return _created(name, info)


@routes.delete(UPLOAD, name="upload_delete")
async def cancel_blob_upload(request: web.Request) -> web.Response:
    """Abandon the upload and remove its data (204)."""
    name, upload_id = repository(request), request.match_info["upload_id"]
    _signed_offset(request, name, upload_id)
    await storage(request).uploads.cancel(name, upload_id)
    return web.Response(status=204)
