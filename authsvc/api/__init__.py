"""The JSON HTTP API under ``/api/v1/``: automation calls the same service layer as the CLI.

Each resource is one module with one ``ApiRoutes`` (``authsvc.api.routing``); ``RESOURCES``
lists them, and both the routes and the served OpenAPI document come from that list. Adding a
resource is a new module and a line here (``trusts`` was added so, in one module).
"""

from __future__ import annotations

from aiohttp import web

from authsvc.api import acl, groups, me, pats, robots, trusts, users
from authsvc.api.openapi import openapi_routes
from authsvc.api.routing import ApiRoutes

RESOURCES: tuple[ApiRoutes, ...] = (
    users.api,
    groups.api,
    acl.api,
    pats.api,
    robots.api,
    trusts.api,
    me.api,
)


def add_api_routes(app: web.Application) -> None:
    """Add every API operation and ``GET /api/v1/openapi.json`` to ``app``."""
    for resource in RESOURCES:
        resource.register(app)
    app.add_routes(openapi_routes(RESOURCES))
