"""GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (spec end-3, end-7, end-9)."""

from __future__ import annotations

from aiohttp import web

from registry.appkeys import CONFIG
from registry.digest import Digest
from registry.errcode import ErrorCode, RegistryError
from registry.handlers import notify
from registry.handlers.common import (
    DIGEST_HEADER,
    NAME,
    REFERENCE,
    content_headers,
    etag_matches,
    parse_digest,
    repository,
    storage,
)
from registry.handlers.manifest_refs import check_references
from registry.manifest import MAX_MANIFEST_SIZE, ManifestError, accepts, parse_manifest
from registry.reference import is_digest, is_tag
from registry.storage.errors import RepositoryUnknown, TagUnknown
from svckit.httpserver import watched_body

routes = web.RouteTableDef()

MANIFEST = f"/v2/{NAME}/manifests/{REFERENCE}"


def _reference(raw: str) -> Digest | str:
    """A digest reference parsed (DIGEST_INVALID for an unsupported one); a tag as it is."""
    return parse_digest(raw) if is_digest(raw) else raw


@routes.get(MANIFEST, name="manifest")
async def get_manifest(request: web.Request) -> web.Response:
    """The manifest bytes as pushed, typed by their mediaType; HEAD sends only the headers."""
    name = repository(request)
    reference = request.match_info["reference"]
    try:
        entry = await storage(request).manifests.lookup(name, _reference(reference))
    except RepositoryUnknown:
        # Distribution answers MANIFEST_UNKNOWN for a tag of an unknown repository too.
        raise TagUnknown(reference) from None
    media_type = entry.info.media_type
    if not accepts(media_type, request.headers.getall("Accept", ())):
        # Distribution 2.8 answers so for an OCI manifest a client does not accept; schema 1
        # conversion (its fallback for Docker types) does not exist here.
        raise RegistryError(
            ErrorCode.MANIFEST_UNKNOWN,
            detail=f"the manifest is {media_type}, which the Accept header does not allow",
        )
    headers = content_headers(entry.digest, media_type)
    if etag_matches(request, entry.digest):
        return web.Response(status=304, headers=headers)
    # Distribution sends a pull event for HEAD too (its GetManifest serves both).
    tag = None if is_digest(reference) else reference
    notify.manifest_pulled(request, name, entry.digest, media_type, entry.content, tag)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(entry.content))
        return web.Response(headers=headers)
    return web.Response(body=entry.content, headers=headers)


async def _read_manifest(request: web.Request) -> bytes:
    """The request body, refusing more than MAX_MANIFEST_SIZE bytes (bounded read)."""
    too_big = RegistryError(
        ErrorCode.MANIFEST_INVALID,
        message="manifest invalid: larger than the 4 MiB limit",
        detail={"limit": MAX_MANIFEST_SIZE},
    )
    length = request.content_length
    if length is not None and length > MAX_MANIFEST_SIZE:
        raise too_big
    body = bytearray()
    async for chunk in watched_body(request, request.app[CONFIG].http.body_timeout):
        body += chunk
        if len(body) > MAX_MANIFEST_SIZE:
            raise too_big
    return bytes(body)


def _digest_for(reference: str, body: bytes) -> Digest:
    """The pushed manifest's digest; a digest reference must match it (DIGEST_INVALID)."""
    if not is_digest(reference):
        if not is_tag(reference):
            raise RegistryError(ErrorCode.TAG_INVALID, detail={"tag": reference})
        return Digest.of_bytes(body)
    expected = parse_digest(reference)
    digest = Digest.of_bytes(body, expected.algorithm)
    if digest != expected:
        raise RegistryError(ErrorCode.DIGEST_INVALID, detail=f"the manifest's digest is {digest}")
    return digest


@routes.put(MANIFEST, name="manifest_put")
async def put_manifest(request: web.Request) -> web.Response:
    """Validate, store and (for a tag reference) tag a manifest: 201 with its digest."""
    name = repository(request)
    reference = request.match_info["reference"]
    body = await _read_manifest(request)
    try:
        manifest = parse_manifest(body, request.headers.get("Content-Type"))
    except ManifestError as exc:
        raise RegistryError(
            ErrorCode.MANIFEST_INVALID, message=f"manifest invalid: {exc}", detail=str(exc)
        ) from None
    digest = _digest_for(reference, body)
    store = storage(request)
    await check_references(
        store,
        name,
        manifest.blob_references(),
        manifest.manifest_references(),
        limit=request.app[CONFIG].validation.max_references,
    )
    await store.manifests.put(name, body, digest)
    tag = None if is_digest(reference) else reference
    if tag is not None:
        await store.manifests.tag(name, tag, digest)
    notify.manifest_pushed(request, name, digest, manifest, body, tag)
    headers = {
        "Location": f"/v2/{name}/manifests/{digest}",
        DIGEST_HEADER: str(digest),
    }
    if manifest.subject is not None:
        # Spec "Pushing Manifests with Subject": tells the client that referrers are indexed.
        headers["OCI-Subject"] = str(manifest.subject.digest)
    return web.Response(status=201, headers=headers)


@routes.delete(MANIFEST, name="manifest_delete")
async def delete_manifest(request: web.Request) -> web.Response:
    """Delete a manifest by digest (and its tags) or only a tag: 202; 405 if deletes are off."""
    store = storage(request)
    if not store.delete_enabled:
        raise RegistryError(ErrorCode.UNSUPPORTED, detail="deletes are disabled")
    name = repository(request)
    reference = request.match_info["reference"]
    try:
        if is_digest(reference):
            digest = parse_digest(reference)
            untagged = await store.manifests.delete(name, digest)
            notify.deleted(request, name, digest=digest)
        else:
            await store.manifests.untag(name, reference)
            untagged = [reference]
    except RepositoryUnknown:
        raise TagUnknown(reference) from None
    for tag in untagged:
        notify.deleted(request, name, tag=tag)
    return web.Response(status=202)
