"""GET /v2/_catalog: repository listing (Distribution's extension, n/last pagination)."""

from __future__ import annotations

from aiohttp import web

from registry.appkeys import PRINCIPAL
from registry.handlers.common import CATALOG_ROUTE, paginated, parse_page_size, storage

routes = web.RouteTableDef()

# Distribution's catalog defaults: 100 entries per page, `catalog.maxentries` 1000.
DEFAULT_ENTRIES = 100
MAX_ENTRIES = 1000


@routes.get("/v2/_catalog", name=CATALOG_ROUTE)
async def get_catalog(request: web.Request) -> web.Response:
    """{"repositories": [...]} in Distribution's order, with a Link header when there is more.

    A token with authsvc's catalog filter (svckit.catalog_filter) lists only the names the
    filter shows; pagination runs over the filtered names.
    """
    n = parse_page_size(request, default=DEFAULT_ENTRIES, maximum=MAX_ENTRIES)
    last = request.query.get("last") or None
    principal = request.get(PRINCIPAL)
    visible = principal.catalog_filter.shows if principal and principal.catalog_filter else None
    names = await storage(request).repositories(
        last=last, n=None if n is None else n + 1, visible=visible
    )
    headers: dict[str, str] = {}
    page = paginated(request, names, n, headers)
    return web.json_response({"repositories": page}, headers=headers)
