"""GET/HEAD/DELETE /v2/<name>/blobs/<digest> (spec end-2, end-10).

On the filesystem, downloads go through `web.FileResponse`, which streams with sendfile(2) and
implements `Range` (206 + Content-Range, 416 for unsatisfiable ranges, RFC 9110 §14).  On S3
a GET is redirected (307) to a presigned URL, as Distribution does unless
`storage.redirect.disable` is set; otherwise the bytes are streamed from the driver's reader.
The ETag is the quoted digest, as Distribution sends; `If-None-Match` is answered here with 304.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest

from registry.digest import Digest
from registry.errcode import ErrorCode, RegistryError
from registry.handlers import notify
from registry.handlers.common import (
    DIGEST,
    DIGEST_HEADER,
    NAME,
    content_headers,
    etag_matches,
    parse_digest,
    repository,
    storage,
)
from registry.ranges import RangePlan, byte_range, plan
from registry.storage import Storage

routes = web.RouteTableDef()

BLOB_MEDIA_TYPE = "application/octet-stream"
# Blobs are immutable: let caches keep them (Distribution sends the same max-age).
CACHE_CONTROL = "max-age=31536000"
# Bytes per read when a blob is streamed from a driver without local files.
STREAM_CHUNK = 1 << 20


class WholeFileResponse(web.FileResponse):
    """A file response that ignores the request's Range header (RFC 9110 §14.2 allows it)."""

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        """Prepare as for the same request without its Range header."""
        kept = {k: v for k, v in request.headers.items() if k.lower() != "range"}
        return await super().prepare(request.clone(headers=kept))


def _blob_headers(digest: Digest) -> dict[str, str]:
    headers = content_headers(digest, BLOB_MEDIA_TYPE)
    headers["Accept-Ranges"] = "bytes"
    headers["Cache-Control"] = CACHE_CONTROL
    return headers


def _answered_without_bytes(
    request: web.Request, headers: dict[str, str], size: int, digest: Digest
) -> web.Response | None:
    """304 or the headers alone (HEAD); RANGE_INVALID for an empty range; None: send bytes."""
    if etag_matches(request, digest):
        return web.Response(status=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(size)
        return web.Response(headers=headers)
    if plan(request.headers.get("Range")) is RangePlan.UNSATISFIABLE:
        raise RegistryError(
            ErrorCode.RANGE_INVALID,
            headers={"Content-Range": f"bytes */{size}"},
            detail="a suffix range of length 0 selects no bytes",
        )
    return None


def _blob_response(
    request: web.Request, path: Path, size: int, digest: Digest
) -> web.StreamResponse:
    """304, headers only (HEAD), the whole file or a range; RANGE_INVALID for an empty one."""
    headers = _blob_headers(digest)
    if (answer := _answered_without_bytes(request, headers, size, digest)) is not None:
        return answer
    if plan(request.headers.get("Range")) is RangePlan.WHOLE:
        return WholeFileResponse(path, headers=headers)
    # The on_response_prepare hook replaces FileResponse's mtime ETag by the digest one.
    return web.FileResponse(path, headers=headers)


async def _remote_blob_response(
    request: web.Request, store: Storage, size: int, digest: Digest
) -> web.StreamResponse:
    """As _blob_response for a driver without local files: a redirect to its URL (GET), or
    the bytes streamed from its reader."""
    headers = _blob_headers(digest)
    if (answer := _answered_without_bytes(request, headers, size, digest)) is not None:
        return answer
    if store.redirect and (url := await store.blobs.url(digest)) is not None:
        # Distribution's blobServer: 307 keeps the method; the URL carries its own credentials.
        return web.Response(status=307, headers={"Location": url, DIGEST_HEADER: str(digest)})
    try:
        selected = byte_range(request.headers.get("Range"), size)
    except ValueError:
        raise RegistryError(
            ErrorCode.RANGE_INVALID, headers={"Content-Range": f"bytes */{size}"}
        ) from None
    start, end = selected or (0, size)
    response = web.StreamResponse(status=200 if selected is None else 206, headers=headers)
    response.content_length = end - start
    if selected is not None:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    reader = await store.blobs.open(digest, start)
    try:
        await response.prepare(request)
        remaining = end - start
        while remaining > 0 and (chunk := await reader.read(min(STREAM_CHUNK, remaining))):
            await response.write(chunk)
            remaining -= len(chunk)
    finally:
        await reader.close()
    await response.write_eof()
    return response


@routes.get(f"/v2/{NAME}/blobs/{DIGEST}", name="blob")
async def get_blob(request: web.Request) -> web.StreamResponse:
    """Blob bytes (GET) or only its headers (HEAD); Range gives 206 with Content-Range."""
    name = repository(request)
    digest = parse_digest(request.match_info["digest"])
    store = storage(request)
    info = await store.blobs.stat(name, digest)
    local = store.blobs.local_file(digest)
    response = (
        _blob_response(request, local, info.size, digest)
        if local is not None
        else await _remote_blob_response(request, store, info.size, digest)
    )
    # As Distribution's ServeBlob listener: every successful GET or HEAD, 304 included.
    notify.blob_pulled(request, name, digest, info.size)
    return response


@routes.delete(f"/v2/{NAME}/blobs/{DIGEST}", name="blob_delete")
async def delete_blob(request: web.Request) -> web.Response:
    """Unlink the blob from the repository: 202, or 405 UNSUPPORTED when deletes are off."""
    store = storage(request)
    if not store.delete_enabled:
        raise RegistryError(ErrorCode.UNSUPPORTED, detail="deletes are disabled")
    name = repository(request)
    digest = parse_digest(request.match_info["digest"])
    await store.blobs.delete(name, digest)
    notify.deleted(request, name, digest=digest)
    return web.Response(status=202)
