"""``/api/v1/acl``: what ``authsvc acl ...`` does, through ``AclService``.

Rules are evaluated in order of priority, then id (README "Access rules"). A new rule goes
where ``priority`` puts it, or just ``before`` or ``after`` an existing rule; the list comes
whole, in evaluation order, because the order is what it means.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from authsvc import acl
from authsvc.acl_service import Position, parse_moment
from authsvc.api.routing import ApiRoutes, Call, Param, json_response, no_content
from authsvc.api.schema import array, boolean, integer, nullable, obj, string
from authsvc.explain import explanation_json
from authsvc.models import utcnow
from authsvc.scope import MAX_SCOPES

api = ApiRoutes("acl", "Access rules, first match wins (`authsvc acl`)")

TIME = string(fmt="date-time", max_length=64)
RULE_ID = integer(minimum=1, maximum=10**18 - 1)
PRIORITY = integer("lower is evaluated first", minimum=acl.MIN_PRIORITY, maximum=acl.MAX_PRIORITY)
PATTERN = string("a glob or /regex/", min_length=1, max_length=acl.MAX_PATTERN_LENGTH)
ACTION = string(enum=acl.ACTIONS)
COMMENT = string(max_length=acl.MAX_COMMENT_LENGTH)
RULE = api.component(
    "Rule",
    obj(
        {
            "id": RULE_ID,
            "priority": PRIORITY,
            "account": string(max_length=acl.MAX_PATTERN_LENGTH),
            "type": string(max_length=acl.MAX_PATTERN_LENGTH),
            "name": string(max_length=acl.MAX_PATTERN_LENGTH),
            "service": nullable(string(max_length=acl.MAX_PATTERN_LENGTH)),
            "actions": array(ACTION, max_items=len(acl.ACTIONS)),
            "effect": string(enum=acl.EFFECTS),
            "comment": nullable(COMMENT),
            "filtered": boolean("a catalog grant filtered to the pullable repositories"),
            "valid_from": nullable(TIME),
            "valid_until": nullable(TIME),
            "created_at": nullable(TIME),
        },
        ["id", "priority", "account", "type", "name", "service", "actions", "effect", "comment"],
    ),
)
GRANTS = array(
    obj(
        {
            "scope": string(max_length=4096),
            "granted": array(ACTION),
            "rule": {"oneOf": [RULE, {"type": "null"}]},
        },
        ["scope", "granted", "rule"],
    ),
    max_items=MAX_SCOPES,
)
EXPLANATION = api.component(
    "Explanation",
    obj(
        {
            "account": nullable(string(max_length=255)),
            "service": string(max_length=1024),
            "refused": nullable(string(max_length=1024)),
            "access": array(
                obj(
                    {
                        "type": string(max_length=1024),
                        "name": string(max_length=4096),
                        "actions": array(ACTION),
                    },
                    ["type", "name", "actions"],
                ),
                "exactly the access claim of a token",
                max_items=MAX_SCOPES,
            ),
            "catalog_filter": nullable(
                array(array(string(max_length=4096), max_items=10_000), max_items=10_000)
            ),
            "scopes": GRANTS,
            "if_allowed": {**GRANTS, "type": ["array", "null"]},
        },
        ["account", "service", "refused", "access", "catalog_filter", "scopes", "if_allowed"],
    ),
)
NEW_RULE = obj(
    {
        "account": string(
            "a glob, /regex/, group:NAME or @anonymous", min_length=1,
            max_length=acl.MAX_PATTERN_LENGTH,
        ),
        "name": PATTERN,
        "type": PATTERN,
        "actions": array(ACTION, "empty for a deny rule", max_items=len(acl.ACTIONS)),
        "service": PATTERN,
        "effect": string(enum=acl.EFFECTS),
        "priority": PRIORITY,
        "before": {**RULE_ID, "description": "place it just before this rule"},
        "after": {**RULE_ID, "description": "place it just after this rule"},
        "comment": COMMENT,
        "valid_from": string(
            "the rule applies from then: RFC 3339 with offset, or a duration from now (30d)",
            max_length=64,
        ),
        "valid_until": string("the rule stops applying then (as valid_from)", max_length=64),
        "filtered": boolean("with type registry, name catalog: filter the catalog"),
    },
    ["account", "name"],
)  # fmt: skip


def _position(body: dict[str, Any]) -> Position | None:
    given = [key for key in ("priority", "before", "after") if key in body]
    if len(given) > 1:
        raise ValueError(f"give one of priority, before and after, not {' and '.join(given)}")
    if "before" in body:
        return ("before", body["before"])
    if "after" in body:
        return ("after", body["after"])
    return None


@api.route("GET", "/api/v1/acl", summary="List rules in evaluation order",
           response=obj({"items": array(RULE, max_items=1_000_000)}, ["items"]))  # fmt: skip
async def list_rules(call: Call) -> web.Response:
    """Every rule, in the order the token endpoint evaluates them."""
    rules = await call.admin.acl.list()
    return json_response({"items": [acl.rule_to_dict(r) for r in rules]})


@api.route("POST", "/api/v1/acl", summary="Add a rule", status=201, errors=[404, 409],
           body=NEW_RULE, response=RULE)  # fmt: skip
async def create_rule(call: Call) -> web.Response:
    """Add a rule at ``priority`` (default 100), or just ``before``/``after`` a rule.

    409 when the anchor's neighbours share its priority (no place exists without renumbering).
    """
    body = call.body
    position = _position(body)
    now = utcnow()
    valid_from, valid_until = (
        parse_moment(body[key], key, now) if key in body else None
        for key in ("valid_from", "valid_until")
    )
    rule = await call.admin.acl.add(
        account=body["account"],
        name=body["name"],
        type=body.get("type", acl.DEFAULT_TYPE),
        actions=body.get("actions", []),
        service=body.get("service"),
        effect=body.get("effect", "allow"),
        priority=body.get("priority", acl.DEFAULT_PRIORITY),
        comment=body.get("comment"),
        position=position,
        valid_from=valid_from,
        valid_until=valid_until,
        filtered=bool(body.get("filtered", False)),
    )
    # The CLI's row names every option, defaults included.
    call.audit(
        "acl add", account=body["account"], name=body["name"], type=rule.type,
        actions=",".join(body.get("actions", [])) or None, service=body.get("service"),
        effect=rule.effect, priority=body.get("priority", acl.DEFAULT_PRIORITY),
        before=body.get("before"), after=body.get("after"), comment=body.get("comment"),
        valid_from=body.get("valid_from"), valid_until=body.get("valid_until"),
        filtered=body.get("filtered"),
    )  # fmt: skip
    return json_response(acl.rule_to_dict(rule), status=201)


@api.route("GET", "/api/v1/acl/{id}", summary="Show a rule", response=RULE,
           params=[Param("id", "path", RULE_ID, required=True)])  # fmt: skip
async def get_rule(call: Call) -> web.Response:
    """One rule."""
    return json_response(acl.rule_to_dict(await call.admin.acl.get(call.path["id"])))


@api.route("DELETE", "/api/v1/acl/{id}", summary="Delete a rule", status=204,
           params=[Param("id", "path", RULE_ID, required=True)])  # fmt: skip
async def delete_rule(call: Call) -> web.Response:
    """Delete a rule."""
    await call.admin.acl.delete(call.path["id"])
    call.audit("acl delete", id=call.path["id"])
    return no_content()


@api.route(
    "POST", "/api/v1/acl/check", summary="Explain what the ACL grants", response=EXPLANATION,
    body=obj(
        {
            "account": string("a user name, or @anonymous", min_length=1, max_length=255),
            "scopes": array(string(max_length=1024), min_items=1, max_items=MAX_SCOPES),
            "service": string("default: the first configured service", max_length=1024),
        },
        ["account", "scopes"],
    ),
)  # fmt: skip
async def check_access(call: Call) -> web.Response:
    """What ``GET /auth`` would grant, scope by scope, and the rule that decided."""
    body = call.body
    explanation = await call.admin.acl.check(body["account"], body["scopes"], body.get("service"))
    return json_response(explanation_json(explanation))
