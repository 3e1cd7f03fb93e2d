"""``/api/v1/trusts``: the CLI's trust add|list|delete over HTTP."""

from __future__ import annotations

from tests.authsvc.api.helpers import admin_headers, admin_rows, call
from tests.authsvc.token_endpoint.helpers import Env, error_of

TRUSTS = "/api/v1/trusts"
GITHUB = "https://token.actions.githubusercontent.com"


async def test_add_list_delete(env: Env) -> None:
    admin = await admin_headers(env)
    body = {
        "name": "org-app", "issuer": GITHUB, "audience": "registry.example.com",
        "claims": ["repository=org/app"], "grants": ["repository:org/app:pull,push"], "ttl": 600,
    }  # fmt: skip
    status, trust = await call(env, "POST", TRUSTS, admin, json=body)
    assert status == 201 and trust["subject"] == "oidc:org-app" and trust["ttl"] == 600
    assert (await call(env, "POST", TRUSTS, admin, json=body))[0] == 409
    for bad in (
        {**body, "name": "x", "issuer": "http://insecure.example"},
        {**body, "name": "x", "claims": []},
        {**body, "name": "x", "ttl": 5},
        {**body, "name": "Bad Name"},
    ):
        status, answer = await call(env, "POST", TRUSTS, admin, json=bad)
        assert status == 422 and error_of(answer)["code"] == "VALIDATION_FAILED", bad
    status, listed = await call(env, "GET", TRUSTS, admin)
    assert [t["name"] for t in listed["items"]] == ["org-app"]
    assert (await call(env, "DELETE", f"{TRUSTS}/org-app", admin))[0] == 204
    assert (await call(env, "DELETE", f"{TRUSTS}/org-app", admin))[0] == 404
    assert [r.detail.split(" ")[:2] for r in await admin_rows(env)] == [
        ["trust", "add"],
        ["trust", "delete"],
    ]
