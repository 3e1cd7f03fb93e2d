"""A bad-input battery for authsvc's endpoints: each case gets a 4xx JSON error and changes nothing.

Every case runs against the real app on a migrated database (SQLite, and PostgreSQL when
configured) holding users, rules, a refresh token and a personal access token. The database is
dumped before and after each case and must be identical, except for the two tables that exist
to record refusals: the audit trail and the failed-login counts.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.authsvc.conftest import Dump
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, Env

# Written on purpose by a refusal: the audit row and the throttle's failure count.
RECORDS_OF_REFUSALS = {"audit_events", "login_failures"}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Case:
    """One bad request: method, path, and what it carries; ``status`` None means any 4xx."""

    id: str
    method: str = "GET"
    path: str = "/auth"
    query: list[tuple[str, str]] = field(default_factory=lambda: [("service", "registry")])
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    status: int | None = None


SCOPE = ("scope", "repository:alice/app:pull")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

CASES = [
    # Malformed Basic credentials.
    Case("basic-no-credentials", headers={"Authorization": "Basic"}),
    Case("basic-not-base64", headers={"Authorization": "Basic !!!***"}),
    Case("basic-no-colon", headers={"Authorization": "Basic " + b64(b"alice")}),
    Case("basic-not-utf8", headers={"Authorization": "Basic " + b64(b"\xff\xfe:\xff")}),
    Case("basic-empty-name", headers={"Authorization": "Basic " + b64(b":alice-password")}),
    Case("basic-empty-password", headers={"Authorization": "Basic " + b64(b"alice:")}, status=401),
    Case("basic-colon-in-name", headers={"Authorization": "Basic " + b64(b"al:ice:x")}, status=401),
    Case("basic-nul-in-name", headers={"Authorization": "Basic " + b64(b"ali\x00ce:x")}),
    Case("basic-huge-password", headers={"Authorization": "Basic " + b64(b"alice:" + b"x" * 5000)}),
    Case("bearer-instead-of-basic", headers={"Authorization": "Bearer abc.def.ghi"}),
    Case("unknown-scheme", headers={"Authorization": "Digest username=alice"}),
    # Scope path tricks and grammar errors.
    *(
        Case(f"scope-{name}", query=[("service", "registry"), ("scope", scope)], status=400)
        for name, scope in [
            ("dotdot", "repository:../etc:pull"),
            ("encoded-dotdot", "repository:%2e%2e/x:pull"),
            ("double-slash", "repository:a//b:pull"),
            ("upper-case", "repository:Alice/App:pull"),
            ("trailing-slash", "repository:alice/:pull"),
            ("no-actions", "repository:alice/app:"),
            ("bad-action", "repository:alice/app:pull;rm"),
            ("two-parts", "repository:alice"),
            ("bad-type", "Repository:alice/app:pull"),
            ("nul", "repository:alice\x00/app:pull"),
            ("too-long", "repository:" + "a" * 300 + ":pull"),
        ]
    ),
    Case("too-many-scopes", query=[("service", "registry")] + [SCOPE] * 101, status=400),
    Case("no-service", query=[SCOPE], status=400),
    Case("unknown-service", query=[("service", "elsewhere"), SCOPE], status=400),
    Case("bad-client-id", query=[("service", "registry"), ("client_id", "a\x01b")], status=400),
    Case("bad-offline-flag", query=[("service", "registry"), ("offline_token", "maybe")]),
    Case(
        "account-not-the-user",
        query=[("service", "registry"), ("account", "bob")],
        headers={"Authorization": "Basic " + b64(f"{ALICE}:{ALICE_PW}".encode())},
    ),
    # The OAuth2 token endpoint.
    Case("post-not-a-form", "POST", query=[], headers=JSON, body=b'{"grant_type":"password"}'),
    Case("post-no-grant", "POST", query=[], headers=FORM, body=b"service=registry", status=400),
    Case(
        "post-unknown-grant",
        "POST",
        query=[],
        headers=FORM,
        status=400,
        body=b"grant_type=client_credentials&service=registry&client_id=c",
    ),
    Case(
        "post-no-password",
        "POST",
        query=[],
        headers=FORM,
        status=400,
        body=b"grant_type=password&username=alice&service=registry&client_id=c",
    ),
    Case(
        "post-garbage-refresh-token",
        "POST",
        query=[],
        headers=FORM,
        body=b"grant_type=refresh_token&refresh_token=xyz&service=registry&client_id=c",
    ),
    Case(
        "post-not-utf8",
        "POST",
        query=[],
        headers=FORM,
        body=b"grant_type=password&username=\xff\xfe&password=x&service=registry&client_id=c",
    ),
    Case("post-oversized", "POST", query=[], headers=FORM, body=b"a=" + b"x" * 70_000, status=413),
    # The self-service API.
    Case("api-no-credentials", "GET", "/api/v1/me", query=[], status=401),
    Case(
        "api-garbage-bearer",
        "GET",
        "/api/v1/me",
        query=[],
        status=401,
        headers={"Authorization": "Bearer asvc_pat_000"},
    ),
    Case(
        "api-password-not-a-pat",
        "GET",
        "/api/v1/me",
        query=[],
        status=401,
        headers={"Authorization": "Basic " + b64(f"{ALICE}:{ALICE_PW}".encode())},
    ),
    Case("api-pats-invalid-json", "POST", "/api/v1/me/pats", query=[], headers=JSON, body=b"{"),
    Case("unknown-path", "GET", "/auth/../etc/passwd", query=[], status=404),
    Case("wrong-method", "DELETE", "/auth", query=[], status=405),
]


def differences(before: Dump, after: Dump) -> list[str]:
    return [
        name
        for name in sorted(set(before) | set(after))
        if name not in RECORDS_OF_REFUSALS and before.get(name) != after.get(name)
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_gets_a_json_4xx_and_changes_nothing(
    env: Env, dump_db: Callable[[], Dump], case: Case
) -> None:
    before = dump_db()
    resp = await env.client.request(
        case.method, case.path, params=case.query, headers=case.headers, data=case.body
    )
    text = await resp.text()
    assert 400 <= resp.status < 500, (resp.status, text)
    if case.status is not None:
        assert resp.status == case.status, text
    assert resp.content_type == "application/json", text
    body: Any = json.loads(text)
    # The registry-style envelope, or OAuth2's error body on POST /auth (RFC 6749 §5.2).
    if "errors" in body:
        (error,) = body["errors"]
        assert set(error) == {"code", "message", "detail"} and error["message"]
    else:
        assert isinstance(body.get("error"), str), body
    assert ALICE_PW not in text
    assert differences(before, dump_db()) == []
