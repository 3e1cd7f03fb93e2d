"""GET /v2/: the API version check (spec end-1), also how `docker login` probes auth."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()


@routes.get("/v2/", name="base")
async def get_base(request: web.Request) -> web.Response:
    """200 with an empty JSON object; the dispatcher has already checked the token."""
    return web.json_response({})
