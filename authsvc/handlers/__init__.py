"""HTTP handlers of authsvc, one module per resource; ``ROUTES`` lists every route table."""

from __future__ import annotations

from aiohttp import web

from authsvc.handlers import health, token

ROUTES: tuple[web.RouteTableDef, ...] = (token.routes, health.routes)
