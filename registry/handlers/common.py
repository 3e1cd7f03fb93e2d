"""Shared pieces of the handlers: route patterns, parameter parsing, headers, pagination."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from registry import upload_token
from registry.appkeys import PRINCIPAL, STORAGE
from registry.auth import Access
from registry.digest import Digest
from registry.errcode import ErrorCode, RegistryError
from registry.reference import DIGEST_PATTERN, NAME_PATTERN, TAG_PATTERN
from registry.storage import Storage
from registry.upload_token import UploadToken

# Route templates mirroring distribution's api/v2/descriptors.go (names may contain '/').
NAME = f"{{name:{NAME_PATTERN}}}"
DIGEST = f"{{digest:{DIGEST_PATTERN}}}"
REFERENCE = f"{{reference:{TAG_PATTERN}|{DIGEST_PATTERN}}}"
# descriptors.go: uuid = [a-zA-Z0-9-_.=]+ (opaque to clients; ours are UUIDs).
UPLOAD_ID = "{upload_id:[a-zA-Z0-9._=-]+}"

DIGEST_HEADER = "Docker-Content-Digest"
# The route name the auth step recognises as needing `registry:catalog:*`.
CATALOG_ROUTE = "catalog"
UPLOAD_UUID_HEADER = "Docker-Upload-UUID"


def storage(request: web.Request) -> Storage:
    """The app's Storage facade."""
    return request.app[STORAGE]


def repository(request: web.Request) -> str:
    """The repository name of the matched route."""
    return request.match_info["name"]


def parse_digest(value: str | None, *, what: str = "digest") -> Digest:
    """A Digest from a path or query value, or DIGEST_INVALID (400)."""
    if not value:
        raise RegistryError(ErrorCode.DIGEST_INVALID, detail=f"the {what} parameter is required")
    try:
        return Digest.parse(value)
    except ValueError as exc:
        raise RegistryError(ErrorCode.DIGEST_INVALID, detail=str(exc)) from None


def may_pull(request: web.Request, name: str) -> bool:
    """True if the request's token grants pull on `name` (always, when auth is off)."""
    if PRINCIPAL not in request:
        return True
    return request[PRINCIPAL].allows(Access("repository", name, "pull"))


def etag_matches(request: web.Request, digest: Digest) -> bool:
    """True if If-None-Match names this content's ETag (the quoted digest) or `*`."""
    etags = request.if_none_match
    if not etags:
        return False
    value = str(digest)
    return any(etag.value in (value, "*") for etag in etags)


def content_headers(digest: Digest, media_type: str) -> dict[str, str]:
    """Headers of a blob or manifest: digest, ETag (Distribution uses the quoted digest)."""
    return {
        "Content-Type": media_type,
        DIGEST_HEADER: str(digest),
        "ETag": f'"{digest}"',
    }


def parse_page_size(
    request: web.Request, *, default: int | None, maximum: int | None
) -> int | None:
    """The `n` query parameter: a non-negative integer, or PAGINATION_NUMBER_INVALID."""
    raw = request.query.get("n")
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        n = -1
    if n < 0 or (maximum is not None and n > maximum):
        raise RegistryError(ErrorCode.PAGINATION_NUMBER_INVALID, detail={"n": raw})
    return n


def paginated(
    request: web.Request, items: list[str], n: int | None, headers: dict[str, str]
) -> list[str]:
    """Trim a page fetched with n+1 entries; add the spec's `Link: <...>; rel="next"` if more."""
    if n is None or len(items) <= n:
        return items
    page = items[:n]
    if page:
        query = urlencode({"n": n, "last": page[-1]})
        headers["Link"] = f'<{request.path}?{query}>; rel="next"'
    return page


def upload_location(name: str, upload_id: str, state: str | None = None) -> str:
    """The upload URL returned in Location (relative, as RFC 7231 §7.1.2 allows).

    With `state` (a signed `_state` token) the URL carries it as Distribution's does.
    """
    location = f"/v2/{name}/blobs/uploads/{upload_id}"
    return location if state is None else f"{location}?{urlencode({'_state': state})}"


def upload_headers(
    name: str, upload_id: str, offset: int, *, secret: bytes | None = None, started_at: str = ""
) -> dict[str, str]:
    """Location, Range and Docker-Upload-UUID of an upload in progress.

    Range is inclusive; Distribution writes "0-0" for an empty upload, and so do we.  With a
    secret, Location carries the signed upload state (registry/upload_token.py).
    """
    state = None
    if secret is not None:
        state = upload_token.pack(secret, UploadToken(name, upload_id, offset, started_at))
    return {
        "Location": upload_location(name, upload_id, state),
        "Range": f"0-{max(offset - 1, 0)}",
        UPLOAD_UUID_HEADER: upload_id,
    }
