"""HTTP handlers, one module per spec noun; `ROUTE_TABLES` lists them in registration order."""

from __future__ import annotations

from aiohttp import web

from registry.handlers import base, blobs, catalog, manifests, referrers, tags, uploads

# Order matters only where patterns could overlap: `/v2/_catalog` first (no repository name
# starts with '_'), and uploads before blobs so that `blobs/uploads/...` is never a digest.
ROUTE_TABLES: tuple[web.RouteTableDef, ...] = (
    catalog.routes,
    base.routes,
    uploads.routes,
    blobs.routes,
    manifests.routes,
    tags.routes,
    referrers.routes,
)
