"""Declared API operations: one definition gives the aiohttp route, the input checks and the
OpenAPI entry, so the served document (``authsvc.api.openapi``) is the routes themselves.

A resource module makes an ``ApiRoutes``, registers its schemas with ``component`` and declares
each operation with ``route``: method, path, who may call it, its parameters, body and answer.
The wrapper authenticates the caller, checks the path, query and body against their schemas,
runs the handler with a ``Call`` and turns the service layer's errors into the one error table
(``authsvc.errors``): NotFound 404, Conflict 409, ValueError (an invalid field) 422, a body that
is not a JSON object 400. Status codes are never chosen in a handler beyond its success status.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from authsvc import store
from authsvc.api.caller import Caller, admin_caller, api_caller
from authsvc.api.schema import Schema, SchemaError, integer, ref, string, validate
from authsvc.appkeys import AUDIT, SERVICES
from authsvc.audit import API_CLIENT, admin_record, describe_change
from authsvc.errors import AuthError, ErrorCode
from authsvc.handlers.audit_trail import request_address
from authsvc.services import AdminServices

# Who may call an operation: an administrator's token, any token for its own account, or a
# token with account:self:* for changes to its own credentials.
Access = Literal["admin", "self", "manage_self"]
MAX_BODY = 16 * 1024
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_PATH_PARAM = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter and its schema."""

    name: str
    where: Literal["path", "query"]
    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated, checked request as a handler sees it."""

    request: web.Request
    caller: Caller
    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]

    @property
    def admin(self) -> AdminServices:
        """The admin services (the ones the CLI calls)."""
        return self.request.app[SERVICES].admin

    def audit(self, words: str, **details: object) -> None:
        """Queue the ``admin`` row of this change, as the CLI command for it writes it."""
        change = describe_change(words.split(), details)
        record = admin_record(
            self.caller.user.name, API_CLIENT, change, request_address(self.request)
        )
        self.request.app[AUDIT].record(record)


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation as declared: everything the route and the OpenAPI document need."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    access: Access
    status: int
    response: Schema | None
    body: Schema | None
    params: tuple[Param, ...]
    errors: frozenset[int]

    @property
    def operation_id(self) -> str:
        """The handler's name, unique across the API."""
        return self.handler.__name__


def page_params(cursor: Schema) -> tuple[Param, ...]:
    """``limit`` and ``after`` (keyset paging: the last item's key of the previous page)."""
    return (
        Param("limit", "query", integer("page size", minimum=1, maximum=MAX_LIMIT)),
        Param("after", "query", {**cursor, "description": "the `next` of the previous page"}),
    )


def page_of(item: Schema, cursor: Schema) -> Schema:
    """A page: ``items`` and ``next`` (null on the last page)."""
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "next": {**cursor, "type": [cursor["type"], "null"]},
        },
        "required": ["items", "next"],
    }


def page(items: Sequence[Any], limit: int, key: Callable[[Any], object]) -> dict[str, Any]:
    """Render ``limit + 1`` fetched items as a page (the extra one says there is a next)."""
    shown = list(items[:limit])
    return {"items": shown, "next": key(shown[-1]) if len(items) > limit and shown else None}


def json_response(data: object, status: int = 200) -> web.Response:
    """A JSON answer that no cache keeps (it may hold a secret shown once)."""
    response = web.json_response(data, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def no_content() -> web.Response:
    """204."""
    return web.Response(status=204, headers={"Cache-Control": "no-store"})


@dataclass
class ApiRoutes:
    """The operations of one resource (one OpenAPI tag) and the schemas they name."""

    tag: str
    description: str
    operations: list[Operation] = field(default_factory=list)
    components: dict[str, Schema] = field(default_factory=dict)

    def component(self, name: str, schema: Schema) -> Schema:
        """Publish ``schema`` under ``components.schemas.NAME``; return a reference to it."""
        self.components[name] = schema
        return ref(name)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        access: Access = "admin",
        status: int = 200,
        response: Schema | None = None,
        body: Schema | None = None,
        params: Sequence[Param] = (),
        errors: Sequence[int] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare an operation; path parameters not given in ``params`` are strings."""
        declared = {p.name for p in params}
        implied = tuple(
            Param(name, "path", string(min_length=1, max_length=255), required=True)
            for name in _PATH_PARAM.findall(path)
            if name not in declared
        )

        def decorate(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    self.tag,
                    access,
                    status,
                    response,
                    body,
                    (*implied, *params),
                    frozenset(errors),
                )
            )
            return handler

        return decorate

    def register(self, app: web.Application) -> None:
        """Add an aiohttp route for every operation."""
        for op in self.operations:
            app.router.add_route(op.method, _aiohttp_path(op), _endpoint(op))


def _aiohttp_path(op: Operation) -> str:
    """Integer path parameters only match digits: anything else is 404, like an unknown id."""
    path = op.path
    for param in op.params:
        if param.where == "path" and param.schema.get("type") == "integer":
            path = path.replace(f"{{{param.name}}}", f"{{{param.name}:[0-9]{{1,18}}}}")
    return path


async def _authenticate(access: Access, request: web.Request) -> Caller:
    if access == "admin":
        return await admin_caller(request)
    caller = await api_caller(request)
    if access == "manage_self" and not caller.may_manage_credentials():
        raise AuthError(ErrorCode.DENIED, "this needs a token with account:self:*")
    return caller


def _coerce(param: Param, raw: str) -> Any:
    kind = param.schema.get("type")
    if kind == "integer":
        try:
            return int(raw, 10)
        except ValueError:
            raise SchemaError(param.name, "expected integer") from None
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise SchemaError(param.name, "expected true or false")
        return raw == "true"
    return raw


def _parameters(op: Operation, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
    path: dict[str, Any] = {}
    query: dict[str, Any] = {}
    for param in op.params:
        if param.where == "path":
            path[param.name] = _coerce(param, request.match_info[param.name])
            continue
        values = request.query.getall(param.name, [])
        if len(values) > 1:
            raise SchemaError(param.name, "given more than once")
        if values:
            query[param.name] = validate(param.schema, _coerce(param, values[0]), param.name)
        elif param.required:
            raise SchemaError(param.name, "is required")
    return path, query


async def _body(schema: Schema, request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise AuthError(ErrorCode.REQUEST_INVALID, "the body must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise AuthError(ErrorCode.REQUEST_TOO_LARGE, f"the body is larger than {MAX_BODY} bytes")
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        # RecursionError: thousands of nested brackets fit in a small body.
        raise AuthError(ErrorCode.REQUEST_INVALID, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise AuthError(ErrorCode.REQUEST_INVALID, "the body must be a JSON object")
    checked: dict[str, Any] = validate(schema, body)
    return checked


def _endpoint(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        caller = await _authenticate(op.access, request)
        try:
            path, query = _parameters(op, request)
            body = await _body(op.body, request) if op.body is not None else {}
            return await op.handler(Call(request, caller, path, query, body))
        except store.NotFound as exc:
            raise AuthError(ErrorCode.NOT_FOUND, str(exc)) from None
        except store.Conflict as exc:
            raise AuthError(ErrorCode.CONFLICT, str(exc)) from None
        except ValueError as exc:
            # SchemaError, and the service layer's invalid names, rules, scopes and passwords.
            raise AuthError(ErrorCode.VALIDATION_FAILED, str(exc), detail=_field(exc)) from None

    endpoint.__name__ = op.operation_id
    endpoint.__doc__ = op.summary
    return endpoint


def _field(exc: ValueError) -> dict[str, str] | None:
    return {"field": exc.field} if isinstance(exc, SchemaError) and exc.field else None
