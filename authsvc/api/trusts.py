"""``/api/v1/trusts``: OpenID Connect trusts (``authsvc trust add|list|delete``), through the
server's ``TrustService``, so a change reaches the next ID-token login on this replica at once.

``trust check`` (verifying a real ID token against its issuer) stays a CLI command for now.
"""

from __future__ import annotations

from aiohttp import web

from authsvc.api.routing import ApiRoutes, Call, json_response, no_content
from authsvc.api.schema import Schema, array, integer, nullable, obj, string
from authsvc.appkeys import SERVICES
from authsvc.trust_service import trust_to_dict
from authsvc.trusts import MAX_CONDITIONS, MAX_TTL, MIN_TTL

api = ApiRoutes("trusts", "Keyless CI logins: which ID tokens log in, and what they get")

NAME = string("1 to 63 of a-z, 0-9, '.', '_', '-'", min_length=1, max_length=63)
TTL = integer("access-token lifetime in seconds", minimum=MIN_TTL, maximum=MAX_TTL)
CLAIMS = array(string("KEY=PATTERN", max_length=512), max_items=MAX_CONDITIONS)
GRANTS = array(string("type:name-pattern:actions", max_length=512), min_items=1, max_items=32)
FIELDS: dict[str, Schema] = {
    "id": integer(minimum=1, maximum=2**63 - 1),
    "name": NAME,
    "issuer": string("an https URL, matched exactly", max_length=255),
    "audience": string(max_length=255),
    "claims": CLAIMS,
    "grants": GRANTS,
    "ttl": nullable(TTL),
    "subject": string("the tokens' sub: oidc:NAME", max_length=128),
}
TRUST = api.component("Trust", obj(FIELDS, list(FIELDS)))


@api.route(
    "GET", "/api/v1/trusts", summary="List trusts in the order they are tried",
    response=obj({"items": array(TRUST, max_items=1_000_000)}, ["items"]),
)  # fmt: skip
async def list_trusts(call: Call) -> web.Response:
    """Every trust, in the order they are tried."""
    trusts = await call.request.app[SERVICES].trusts.list()
    return json_response({"items": [trust_to_dict(t) for t in trusts]})


@api.route(
    "POST", "/api/v1/trusts", summary="Add a trust", status=201, errors=[409], response=TRUST,
    body=obj(
        {
            "name": NAME,
            "issuer": string("an https URL", min_length=1, max_length=255),
            "audience": string(min_length=1, max_length=255),
            "claims": {**CLAIMS, "minItems": 1},
            "grants": GRANTS,
            "ttl": TTL,
        },
        ["name", "issuer", "audience", "claims", "grants"],
    ),
)  # fmt: skip
async def create_trust(call: Call) -> web.Response:
    """Trust ID tokens of an issuer whose claims all match; they get the grants, nothing else."""
    body = call.body
    trust = await call.request.app[SERVICES].trusts.add(
        body["name"], issuer=body["issuer"], audience=body["audience"], claims=body["claims"],
        grants=body["grants"], ttl=body.get("ttl"),
    )  # fmt: skip
    call.audit(
        "trust add", name=body["name"], issuer=body["issuer"], audience=body["audience"],
        claim=body["claims"], grant=body["grants"], ttl=body.get("ttl"),
    )  # fmt: skip
    return json_response(trust_to_dict(trust), status=201)


@api.route("DELETE", "/api/v1/trusts/{name}", summary="Delete a trust", status=204)
async def delete_trust(call: Call) -> web.Response:
    """Delete a trust; its tokens are refused from the next login on."""
    await call.request.app[SERVICES].trusts.delete(call.path["name"])
    call.audit("trust delete", name=call.path["name"])
    return no_content()
