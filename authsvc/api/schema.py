"""JSON Schema fragments of the admin API, and the validator that enforces them.

One source of truth: the OpenAPI document (``authsvc.api.openapi``) publishes these schemas, and
every request body and query string is checked against the same objects before a handler runs,
so the document cannot promise one thing while the server accepts another. Only the subset of
JSON Schema 2020-12 (the dialect of OpenAPI 3.1) that the API uses is understood: ``type`` (one
name, or a name and ``"null"``), ``properties`` / ``required`` / ``additionalProperties: false``,
``items`` / ``minItems`` / ``maxItems``, ``minLength`` / ``maxLength``, ``minimum`` /
``maximum`` and ``enum``.
Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Schema = dict[str, Any]

# Every string the API stores goes to SQLite or PostgreSQL as UTF-8 text: a lone surrogate
# cannot be encoded and PostgreSQL refuses NUL (its text type is NUL-terminated).
_UNSTORABLE = "\x00"


class SchemaError(ValueError):
    """A value does not match its schema; ``field`` is a dotted path (empty for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        """Say which field is wrong and how."""
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


def string(
    description: str = "",
    *,
    min_length: int = 0,
    max_length: int = 1024,
    enum: Sequence[str] | None = None,
    fmt: str | None = None,
) -> Schema:
    """A string of bounded length (``format`` is documentation only)."""
    schema: Schema = {"type": "string", "maxLength": max_length}
    if min_length:
        schema["minLength"] = min_length
    if enum is not None:
        schema = {"type": "string", "enum": list(enum)}
    if fmt is not None:
        schema["format"] = fmt
    return _described(schema, description)


def integer(description: str = "", *, minimum: int, maximum: int) -> Schema:
    """An integer in ``[minimum, maximum]``."""
    return _described({"type": "integer", "minimum": minimum, "maximum": maximum}, description)


def boolean(description: str = "") -> Schema:
    """true or false."""
    return _described({"type": "boolean"}, description)


def array(
    items: Schema, description: str = "", *, min_items: int = 0, max_items: int = 100
) -> Schema:
    """A list of ``items``, ``min_items`` to ``max_items`` long."""
    schema: Schema = {"type": "array", "items": items, "maxItems": max_items}
    if min_items:
        schema["minItems"] = min_items
    return _described(schema, description)


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (JSON Schema 2020-12 spells it as a second type)."""
    return {**schema, "type": [schema["type"], "null"]}


def obj(
    properties: Mapping[str, Schema], required: Sequence[str] = (), description: str = ""
) -> Schema:
    """An object with exactly these properties (unknown ones are refused)."""
    schema: Schema = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return _described(schema, description)


def ref(name: str) -> Schema:
    """A reference to a schema of the document's ``components``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description} if description else schema


def _types(schema: Schema) -> tuple[str, ...]:
    kind = schema.get("type")
    return tuple(kind) if isinstance(kind, list) else (kind,) if kind else ()


def _matches_type(kind: str, value: object) -> bool:
    match kind:
        case "null":
            return value is None
        case "boolean":
            return isinstance(value, bool)
        case "integer":
            # JSON Schema: 1.0 is an integer too; bool is a subclass of int in Python.
            return (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, float) and value.is_integer()
            )
        case "string":
            return isinstance(value, str)
        case "array":
            return isinstance(value, list)
        case "object":
            return isinstance(value, dict)
    raise AssertionError(f"unsupported schema type {kind!r}")


def validate(schema: Schema, value: Any, field: str = "") -> Any:
    """Return ``value`` (integers as int) if it matches ``schema``, else raise SchemaError."""
    kinds = _types(schema)
    if kinds and not any(_matches_type(k, value) for k in kinds):
        raise SchemaError(field, f"expected {' or '.join(kinds)}")
    if value is None:
        return None
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(field, f"must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        return _validate_string(schema, value, field)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = int(value)
        if number < schema.get("minimum", number) or number > schema.get("maximum", number):
            raise SchemaError(field, f"must be between {schema['minimum']} and {schema['maximum']}")
        return number
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            raise SchemaError(field, f"at most {schema['maxItems']} items")
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(field, f"at least {schema['minItems']} item(s)")
        return [validate(schema["items"], item, f"{field}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        return _validate_object(schema, value, field)
    return value


def _validate_string(schema: Schema, value: str, field: str) -> str:
    if len(value) < schema.get("minLength", 0):
        raise SchemaError(field, "must not be empty")
    if len(value) > schema.get("maxLength", len(value)):
        raise SchemaError(field, f"at most {schema['maxLength']} characters")
    if _UNSTORABLE in value:
        raise SchemaError(field, "must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SchemaError(field, "is not valid Unicode text (a lone surrogate)") from None
    return value


def _validate_object(schema: Schema, value: dict[str, Any], field: str) -> dict[str, Any]:
    properties: dict[str, Schema] = schema.get("properties", {})
    prefix = f"{field}." if field else ""
    for name in schema.get("required", ()):
        if name not in value:
            raise SchemaError(f"{prefix}{name}", "is required")
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name not in properties:
            raise SchemaError(f"{prefix}{name}", "unknown field")
        out[name] = validate(properties[name], item, f"{prefix}{name}")
    return out
