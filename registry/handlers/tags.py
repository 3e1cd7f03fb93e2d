"""GET /v2/<name>/tags/list (spec end-8a/8b): lexical order, n/last pagination, Link header."""

from __future__ import annotations

from aiohttp import web

from registry.handlers.common import NAME, paginated, parse_page_size, repository, storage

routes = web.RouteTableDef()


@routes.get(f"/v2/{NAME}/tags/list", name="tags")
async def list_tags(request: web.Request) -> web.Response:
    """{"name", "tags"}; NAME_UNKNOWN (404) for a repository that has no manifests."""
    name = repository(request)
    n = parse_page_size(request, default=None, maximum=None)
    last = request.query.get("last") or None
    tags = await storage(request).tags.list(name, last=last, n=None if n is None else n + 1)
    headers: dict[str, str] = {}
    page = paginated(request, tags, n, headers)
    return web.json_response({"name": name, "tags": page}, headers=headers)
