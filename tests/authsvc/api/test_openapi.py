"""The served OpenAPI document matches the app's routes, both ways."""

from __future__ import annotations

import re

from authsvc.api import RESOURCES
from authsvc.api.openapi import OPENAPI_PATH, document
from tests.authsvc.token_endpoint.helpers import Env


def _template(path: str) -> str:
    # aiohttp's "{id:[0-9]{1,18}}" is OpenAPI's "{id}".
    return re.sub(r"\{(\w+):[^}]*(?:\{[^}]*\}[^}]*)*\}", r"{\1}", path)


async def test_every_route_is_documented_and_every_operation_routed(env: Env) -> None:
    resp = await env.client.get(OPENAPI_PATH)
    assert resp.status == 200
    doc = await resp.json()
    assert doc == document(RESOURCES) and doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routed = {
        (route.method, _template(route.resource.canonical))
        for route in env.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
        and route.resource.canonical != OPENAPI_PATH
    }
    assert routed == documented
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    # Every referenced component exists.
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', await resp.text()))
    assert refs and refs <= set(doc["components"]["schemas"])
