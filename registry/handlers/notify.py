"""What the handlers tell the notifier: one call per successful push, pull, mount or delete.

Distribution emits its events from listeners wrapped around the repository's stores
(notifications/listener.go), after the operation succeeded; the handlers here call these
functions at the same points. Which requests emit what follows Distribution 2.8, checked against
the real binary:

- pull: a manifest GET or HEAD (not one answered 304), and a blob GET or HEAD, also when
  answered 304 or 206, since Distribution's ServeBlob succeeds for each of them;
- push: a manifest PUT (with ``tag`` when pushed by tag) and a completed blob upload;
- mount: a cross-repository blob mount (``fromRepository`` set);
- delete: a blob, a manifest by digest (then one event per tag it removed, as Distribution
  emits them), or a tag alone (Distribution 3's TagDeleted: repository and tag only).

Every function returns at once when no endpoint is configured; none awaits anything.
"""

from __future__ import annotations

from aiohttp import web

from registry.appkeys import NOTIFIER, PRINCIPAL
from registry.digest import Digest
from registry.manifest import Manifest, ManifestError, parse_manifest
from registry.notifications.events import (
    BLOB_MEDIA_TYPE,
    DELETE,
    MOUNT,
    PULL,
    PUSH,
    Reference,
    RequestRecord,
    Target,
    new_event,
)
from svckit.logs import REQUEST_ID


def _client_addr(request: web.Request) -> str:
    """The peer's ip:port, as Go's RemoteAddr (proxy headers are not trusted here)."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), peer[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return request.remote or ""


def _request_record(request: web.Request) -> RequestRecord:
    return RequestRecord(
        id=REQUEST_ID.get(),
        addr=_client_addr(request),
        host=request.host,
        method=request.method,
        useragent=request.headers.get("User-Agent", ""),
    )


def _url(request: web.Request, path: str) -> str:
    """An absolute URL on this registry, as Distribution's URL builder makes from the request."""
    return f"{request.scheme}://{request.host}{path}"


def _publish(request: web.Request, action: str, target: Target) -> None:
    notifier = request.app.get(NOTIFIER)
    if notifier is None:
        return
    principal = request.get(PRINCIPAL)
    actor = principal.subject if principal is not None else ""
    notifier.publish(new_event(action, target, _request_record(request), notifier.source, actor))


def _references(manifest: Manifest | bytes) -> tuple[Reference, ...]:
    """What a manifest points at: config and layers, or an index's manifests."""
    if isinstance(manifest, bytes):
        try:
            manifest = parse_manifest(manifest)
        except ManifestError:
            return ()
    descriptors = ([manifest.config] if manifest.config else []) + [
        *manifest.layers,
        *manifest.manifests,
    ]
    return tuple(Reference(d.media_type, d.size, str(d.digest)) for d in descriptors)


def _wants_references(request: web.Request) -> bool:
    notifier = request.app.get(NOTIFIER)
    return notifier is not None and notifier.include_references


def manifest_event(
    request: web.Request,
    action: str,
    name: str,
    digest: Digest,
    media_type: str,
    content: bytes,
    *,
    tag: str | None = None,
    manifest: Manifest | None = None,
) -> None:
    """A manifest was pushed or pulled (by tag when ``tag`` is given)."""
    if NOTIFIER not in request.app:
        return
    references = None
    if _wants_references(request):
        references = _references(manifest if manifest is not None else content)
    target = Target(
        repository=name,
        media_type=media_type,
        size=len(content),
        digest=str(digest),
        url=_url(request, f"/v2/{name}/manifests/{digest}"),
        tag=tag,
        references=references,
    )
    _publish(request, action, target)


def manifest_pushed(
    request: web.Request,
    name: str,
    digest: Digest,
    manifest: Manifest,
    content: bytes,
    tag: str | None,
) -> None:
    """A manifest PUT succeeded."""
    manifest_event(
        request, PUSH, name, digest, manifest.media_type, content, tag=tag, manifest=manifest
    )


def manifest_pulled(
    request: web.Request,
    name: str,
    digest: Digest,
    media_type: str,
    content: bytes,
    tag: str | None,
) -> None:
    """A manifest GET or HEAD succeeded."""
    manifest_event(request, PULL, name, digest, media_type, content, tag=tag)


def blob_event(
    request: web.Request, action: str, name: str, digest: Digest, size: int, source: str = ""
) -> None:
    """A blob was pushed (upload completed), pulled or mounted (from ``source``)."""
    if NOTIFIER not in request.app:
        return
    target = Target(
        repository=name,
        media_type=BLOB_MEDIA_TYPE,
        size=size,
        digest=str(digest),
        url=_url(request, f"/v2/{name}/blobs/{digest}"),
        from_repository=source or None,
    )
    _publish(request, action, target)


def blob_pushed(request: web.Request, name: str, digest: Digest, size: int) -> None:
    """An upload completed."""
    blob_event(request, PUSH, name, digest, size)


def blob_pulled(request: web.Request, name: str, digest: Digest, size: int) -> None:
    """A blob GET or HEAD succeeded."""
    blob_event(request, PULL, name, digest, size)


def blob_mounted(request: web.Request, name: str, digest: Digest, size: int, source: str) -> None:
    """A blob was mounted from another repository."""
    blob_event(request, MOUNT, name, digest, size, source)


def deleted(
    request: web.Request, name: str, *, digest: Digest | None = None, tag: str | None = None
) -> None:
    """A blob or manifest (by digest) or a tag was deleted."""
    if NOTIFIER not in request.app:
        return
    target = Target(repository=name, digest=str(digest) if digest else None, tag=tag)
    _publish(request, DELETE, target)
