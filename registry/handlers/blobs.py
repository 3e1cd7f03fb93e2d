"""GET/HEAD/DELETE /v2/<name>/blobs/<digest> (spec end-2, end-10).

Downloads go through `web.FileResponse`, which streams with sendfile(2) and implements
`Range` (206 + Content-Range, 416 for unsatisfiable ranges, RFC 9110 §14).  The ETag is the
quoted digest, as Distribution sends; `If-None-Match` is answered here with 304.
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
    NAME,
    content_headers,
    etag_matches,
    parse_digest,
    repository,
    storage,
)
from registry.ranges import RangePlan, plan

routes = web.RouteTableDef()

BLOB_MEDIA_TYPE = "application/octet-stream"
# Blobs are immutable: let caches keep them (Distribution sends the same max-age).
CACHE_CONTROL = "max-age=31536000"


class WholeFileResponse(web.FileResponse):
    """A file response that ignores the request's Range header (RFC 9110 §14.2 allows it)."""

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        """Prepare as for the same request without its Range header."""
        kept = {k: v for k, v in request.headers.items() if k.lower() != "range"}
        return await super().prepare(request.clone(headers=kept))


def _blob_response(
    request: web.Request, path: Path, size: int, digest: Digest
) -> web.StreamResponse:
    """304, headers only (HEAD), the whole file or a range; RANGE_INVALID for an empty one."""
    headers = content_headers(digest, BLOB_MEDIA_TYPE)
    headers["Accept-Ranges"] = "bytes"
    headers["Cache-Control"] = CACHE_CONTROL
    if etag_matches(request, digest):
        return web.Response(status=304, headers=headers)
    if request.method == "HEAD":
        headers["Content-Length"] = str(size)
        return web.Response(headers=headers)
    match plan(request.headers.get("Range")):
        case RangePlan.UNSATISFIABLE:
            raise RegistryError(
                ErrorCode.RANGE_INVALID,
                headers={"Content-Range": f"bytes */{size}"},
                detail="a suffix range of length 0 selects no bytes",
            )
        case RangePlan.WHOLE:
            return WholeFileResponse(path, headers=headers)
    # The on_response_prepare hook replaces FileResponse's mtime ETag by the digest one.
    return web.FileResponse(path, headers=headers)


@routes.get(f"/v2/{NAME}/blobs/{DIGEST}", name="blob")
async def get_blob(request: web.Request) -> web.StreamResponse:
    """Blob bytes (GET) or only its headers (HEAD); Range gives 206 with Content-Range."""
    name = repository(request)
    digest = parse_digest(request.match_info["digest"])
    store = storage(request)
    info = await store.blobs.stat(name, digest)
    response = _blob_response(request, store.blobs.data_path(digest), info.size, digest)
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
