"""GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (spec end-3, end-7, end-9)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from registry.appkeys import MANIFEST_CACHE, MANIFEST_INFO
from registry.digest import Digest
from registry.errcode import ErrorCode, RegistryError, RegistryErrors
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
from registry.manifest import MAX_MANIFEST_SIZE, Descriptor, ManifestError, accepts, parse_manifest
from registry.manifest_cache import CachedManifest
from registry.reference import is_tag
from registry.storage import Storage
from registry.storage.errors import BlobUnknown, RepositoryUnknown, TagUnknown

routes = web.RouteTableDef()

MANIFEST = f"/v2/{NAME}/manifests/{REFERENCE}"


def _is_digest(reference: str) -> bool:
    # A tag cannot contain ':', a digest always does (descriptors.go ReferenceRegexp).
    return ":" in reference


async def _resolve(store: Storage, name: str, reference: str) -> Digest:
    """The digest a tag or digest reference names (MANIFEST_UNKNOWN for an unknown tag)."""
    if _is_digest(reference):
        return parse_digest(reference)
    try:
        return await store.tags.resolve(name, reference)
    except RepositoryUnknown:
        # Distribution answers MANIFEST_UNKNOWN for a tag of an unknown repository too.
        raise TagUnknown(reference) from None


async def _lookup(request: web.Request, name: str, reference: str) -> CachedManifest:
    """The manifest a reference names, from the lookup cache or from storage."""
    cache = request.app[MANIFEST_CACHE]
    hit = cache.get(name, reference)
    if hit is not None:
        return hit
    generation = cache.generation(name)
    store = storage(request)
    digest = await _resolve(store, name, reference)
    content = await store.manifests.get(name, digest)
    entry = CachedManifest(digest, content, request.app[MANIFEST_INFO].info(digest, content))
    cache.put(name, reference, entry, generation)
    return entry


@routes.get(MANIFEST, name="manifest")
async def get_manifest(request: web.Request) -> web.Response:
    """The manifest bytes as pushed, typed by their mediaType; HEAD sends only the headers."""
    name = repository(request)
    entry = await _lookup(request, name, request.match_info["reference"])
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
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_MANIFEST_SIZE:
            raise too_big
    return bytes(body)


async def _check_references(
    store: Storage, name: str, blobs: list[Descriptor], children: list[Descriptor]
) -> None:
    """MANIFEST_BLOB_UNKNOWN for each referenced blob or manifest missing from the repo."""

    async def blob_missing(desc: Descriptor) -> bool:
        try:
            await store.blobs.stat(name, desc.digest)
        except BlobUnknown:
            return True
        return False

    async def manifest_missing(desc: Descriptor) -> bool:
        return not await store.manifests.exists(name, desc.digest)

    results = await asyncio.gather(
        *(blob_missing(d) for d in blobs), *(manifest_missing(d) for d in children)
    )
    missing = [d for d, gone in zip([*blobs, *children], results, strict=True) if gone]
    if missing:
        raise RegistryErrors(
            [
                RegistryError(ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"digest": str(d.digest)})
                for d in missing
            ]
        )


def _digest_for(reference: str, body: bytes) -> Digest:
    """The pushed manifest's digest; a digest reference must match it (DIGEST_INVALID)."""
    if not _is_digest(reference):
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
    await _check_references(store, name, manifest.blob_references(), manifest.manifest_references())
    try:
        await store.manifests.put(name, body, digest)
        if not _is_digest(reference):
            await store.tags.tag(name, reference, digest)
    finally:
        request.app[MANIFEST_CACHE].forget_repository(name)
    request.app[MANIFEST_INFO].info(digest, body)
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
        if _is_digest(reference):
            await store.manifests.delete(name, parse_digest(reference))
        else:
            await store.tags.untag(name, reference)
    except RepositoryUnknown:
        raise TagUnknown(reference) from None
    finally:
        request.app[MANIFEST_CACHE].forget_repository(name)
    return web.Response(status=202)
