"""``/api/v1/acl``: ordered rules, positions, deletion, and ``check`` as /auth decides."""

from __future__ import annotations

from tests.authsvc.api.helpers import admin_headers, admin_rows, call
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, Env, error_of
from tests.authsvc.tokenhelpers import basic

ACL = "/api/v1/acl"


async def pulls(env: Env, repo: str) -> list[str]:
    resp = await env.get(service="registry", scope=f"repository:{repo}:pull,push",
                         headers=basic(ALICE, ALICE_PW))  # fmt: skip
    access = env.decode((await resp.json())["token"])["access"]
    return [a for entry in access for a in entry["actions"]]


async def test_rules_in_order_and_positions(env: Env) -> None:
    admin = await admin_headers(env)
    status, listed = await call(env, "GET", ACL, admin)
    [seeded] = listed["items"]
    status, deny = await call(env, "POST", ACL, admin, json={
        "account": "alice", "name": "alice/secret", "effect": "deny", "before": seeded["id"],
    })  # fmt: skip
    assert status == 201 and deny["priority"] == seeded["priority"] - 1
    # The change applies to the next token request at once (the rule cache was dropped).
    assert await pulls(env, "alice/secret") == []
    assert await pulls(env, "alice/app") == ["pull", "push"]
    status, after = await call(env, "POST", ACL, admin, json={
        "account": "*", "name": "shared/*", "actions": ["pull"], "after": seeded["id"],
        "comment": "everyone pulls shared",
    })  # fmt: skip
    assert status == 201 and after["priority"] == seeded["priority"]
    status, body = await call(env, "GET", ACL, admin)
    assert [r["id"] for r in body["items"]] == [deny["id"], seeded["id"], after["id"]]
    # Two rules share priority 100 now: nothing fits between them without renumbering.
    status, body = await call(env, "POST", ACL, admin, json={
        "account": "*", "name": "x", "actions": ["pull"], "before": after["id"],
    })  # fmt: skip
    assert status == 409 and "give a priority" in error_of(body)["message"]
    status, body = await call(env, "POST", ACL, admin, json={
        "account": "*", "name": "x", "actions": ["pull"], "before": 999,
    })  # fmt: skip
    assert status == 404
    status, body = await call(env, "POST", ACL, admin, json={
        "account": "*", "name": "x", "actions": ["pull"], "before": 1, "priority": 3,
    })  # fmt: skip
    assert status == 422
    for bad in (
        {"account": "*", "name": "/[/", "actions": ["pull"]},
        {"account": "*", "name": "x", "actions": ["fly"]},
        {"account": "*", "name": "x"},
        {"account": "@bad", "name": "x", "actions": ["pull"]},
    ):
        status, body = await call(env, "POST", ACL, admin, json=bad)
        assert status == 422, bad
    assert (await call(env, "GET", f"{ACL}/{deny['id']}", admin))[1] == deny
    assert (await call(env, "DELETE", f"{ACL}/{deny['id']}", admin))[0] == 204
    assert (await call(env, "DELETE", f"{ACL}/{deny['id']}", admin))[0] == 404
    assert await pulls(env, "alice/secret") == ["pull", "push"]
    details = [r.detail for r in await admin_rows(env)]
    assert details[0] == (
        f"acl add account=alice before={seeded['id']} effect=deny name=alice/secret priority=100 "
        "type=repository"
    )
    assert details[-1] == f"acl delete id={deny['id']}"


async def test_check_explains_like_the_cli(env: Env) -> None:
    admin = await admin_headers(env)
    status, body = await call(env, "POST", f"{ACL}/check", admin, json={
        "account": ALICE, "scopes": ["repository:alice/app:pull,delete", "repository:bob/x:pull"],
    })  # fmt: skip
    assert status == 200
    assert body["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]
    assert [s["granted"] for s in body["scopes"]] == [["pull"], []]
    assert body["scopes"][0]["rule"]["name"] == "${account}/*" and body["refused"] is None
    status, body = await call(env, "POST", f"{ACL}/check", admin, json={
        "account": "@anonymous", "scopes": ["repository:alice/app:pull"],
    })  # fmt: skip
    assert status == 200 and body["account"] is None and body["access"] == []
    for bad in (
        {"account": ALICE, "scopes": ["nonsense"]},
        {"account": ALICE, "scopes": ["repository:a:pull"], "service": "elsewhere"},
        {"account": "a:b", "scopes": ["repository:a:pull"]},
        {"account": ALICE, "scopes": []},
    ):
        status, body = await call(env, "POST", f"{ACL}/check", admin, json=bad)
        assert status == 422, bad
    assert await admin_rows(env) == []  # checks change nothing


async def test_rule_windows(env: Env) -> None:
    admin = await admin_headers(env)
    status, rule = await call(env, "POST", ACL, admin, json={
        "account": "alice", "name": "alice/old", "effect": "deny", "priority": 1,
        "valid_until": "2020-02-01T01:00:00+01:00",
    })  # fmt: skip
    assert status == 201 and rule["valid_until"] == "2020-02-01T00:00:00Z"
    assert await pulls(env, "alice/old") == ["pull", "push"]  # the window is over
    status, body = await call(env, "POST", ACL, admin, json={
        "account": "alice", "name": "x", "actions": ["pull"], "valid_from": "2027-01-01T00:00:00",
    })  # fmt: skip
    assert status == 422 and "time zone" in error_of(body)["message"]
