"""HTTP handlers of authsvc, one module per resource; ``ROUTES`` lists every route table."""

from __future__ import annotations

from aiohttp import web

from authsvc.handlers import health, token_endpoint

ROUTES: tuple[web.RouteTableDef, ...] = (token_endpoint.routes, health.routes)
