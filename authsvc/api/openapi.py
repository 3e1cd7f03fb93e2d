"""The OpenAPI 3.1 document of ``/api/v1``, built from the declared operations.

``document(resources)`` is pure: every path, parameter, body and answer comes from the
``ApiRoutes`` of the resource modules, so the served document cannot drift from the routes.
Error answers use the one envelope of ``authsvc.errors``; which statuses an operation can give
follows from what it declares (a body can be 400/413/422, a path parameter 404, and so on).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

from authsvc import __version__
from authsvc.api.routing import ApiRoutes, Operation
from authsvc.api.schema import Schema, ref
from authsvc.errors import ErrorCode

OPENAPI_PATH = "/api/v1/openapi.json"

ERROR_ENVELOPE: Schema = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string", "enum": [code.name for code in ErrorCode]},
                    "message": {"type": "string"},
                    "detail": {},
                },
                "required": ["code", "message", "detail"],
            },
        }
    },
    "required": ["errors"],
    "description": "The error envelope shared with the registry and the token endpoint",
}
# Every authenticated operation: a malformed request (two Authorization headers), a missing
# or refused token, a token without the rights, the login throttle, a database outage.
_ALWAYS = frozenset({400, 401, 403, 429, 503})
_ACCESS_TEXT = {
    "admin": "An administrator's personal access token with the scope `api:admin:*`.",
    "self": "Any personal access token; the call concerns the token's owner.",
    "manage_self": "A personal access token with the scope `account:self:*`.",
}


def _statuses(op: Operation) -> list[int]:
    codes = set(_ALWAYS | op.errors)
    if op.body is not None:
        codes |= {413, 422}
    if any(p.where == "query" for p in op.params):
        codes.add(422)
    if any(p.where == "path" for p in op.params):
        codes |= {404, 422}
    return sorted(codes)


def _operation(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": op.response}}
    responses: dict[str, Any] = {str(op.status): success}
    for code in _statuses(op):
        responses[str(code)] = {
            "description": HTTPStatus(code).phrase,
            "content": {"application/json": {"schema": ref("Error")}},
        }
    entry: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": _ACCESS_TEXT[op.access],
        "tags": [op.tag],
        "responses": responses,
    }
    if op.handler.__doc__:
        entry["description"] = f"{op.handler.__doc__.strip()}\n\n{_ACCESS_TEXT[op.access]}"
    if op.params:
        entry["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in op.params
        ]
    if op.body is not None:
        entry["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    return entry


def document(resources: Sequence[ApiRoutes]) -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Schema] = {"Error": ERROR_ENVELOPE}
    for resource in resources:
        components.update(resource.components)
        for op in resource.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "authsvc admin and self-service API",
            "version": __version__,
            "description": (
                "Every CLI operation on users, groups, ACL rules, personal access tokens, "
                "robots and trusts, and self-service for a token's owner. Authenticate with a "
                "personal access token as `Authorization: Bearer TOKEN` (or as the Basic "
                "password)."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": r.tag, "description": r.description} for r in resources],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"token": []}, {"basic": []}],
    }


def openapi_routes(resources: Sequence[ApiRoutes]) -> web.RouteTableDef:
    """``GET /api/v1/openapi.json`` (no credentials: the document holds no data)."""
    routes = web.RouteTableDef()
    body = document(resources)

    @routes.get(OPENAPI_PATH)
    async def get_openapi(request: web.Request) -> web.Response:
        """The OpenAPI document of this API."""
        return web.json_response(body)

    return routes
