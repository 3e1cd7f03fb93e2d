"""Directory users through the real app: /auth, groups to ACL, disable, cache, outages, CLI."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from authsvc import store
from authsvc.appkeys import SERVICES
from authsvc.config import AuthConfig, LdapConfig
from tests.authsvc.ldap.conftest import ldap_config
from tests.authsvc.ldap.slapd import PASSWORDS, Slapd
from tests.authsvc.token_endpoint.helpers import AiohttpClient, Env, error_of, start
from tests.authsvc.tokenhelpers import KeyPair, basic

if TYPE_CHECKING:
    from tests.authsvc.conftest import Cli

ALICE_PW = PASSWORDS["alice"]


async def _env(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, settings: LdapConfig, **kw: int
) -> Env:
    env = await start(aiohttp_client, ldap_config(db_url, keys, settings, **kw), keys)
    await env.seed.user("local-lou", "lou-password")
    await env.seed.rule("group:developers", "team/*", ["pull", "push"])
    await env.seed.rule("group:platform", "infra/*", ["pull"])
    await env.seed.rule("local-lou", "team/*", ["pull"])
    return env


async def _token(env: Env, user: str, password: str, scope: str) -> Any:
    return await env.get(service="registry", scope=scope, headers=basic(user, password))


async def _granted(env: Env, user: str, password: str, scope: str) -> list[str]:
    resp = await _token(env, user, password, scope)
    assert resp.status == 200, await resp.text()
    claims = env.decode((await resp.json())["token"])
    assert claims["sub"] == user
    return sorted(a for entry in claims["access"] for a in entry["actions"])


async def test_first_login_creates_the_row_and_groups_grant_access(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig,
    cli: Cli,
) -> None:  # fmt: skip
    env = await _env(aiohttp_client, db_url, keys, search_settings)
    assert await env.seed.get_user("alice") is None
    assert await _granted(env, "alice", ALICE_PW, "repository:team/x:pull,push") == [
        "pull",
        "push",
    ]
    # "Platform Admins" is mapped to the authsvc group "platform".
    assert await _granted(env, "alice", ALICE_PW, "repository:infra/x:pull") == ["pull"]
    row = await env.seed.get_user("alice")
    assert row is not None and row.source == "ldap" and row.last_login_at is not None
    assert row.password_hash == store.UNUSABLE_PASSWORD
    # bob is in no group: a token, but no access.
    assert await _granted(env, "bob", PASSWORDS["bob"], "repository:team/x:pull") == []

    listing = cli.ok("user", "list")
    assert "alice [ldap]" in listing and "local-lou (last login" in listing
    assert {u["name"]: u["source"] for u in json.loads(cli.ok("user", "list", "--json"))} == {
        "alice": "ldap",
        "bob": "ldap",
        "local-lou": "local",
    }
    # acl check answers from the stored row and the groups seen at the last login.
    check = json.loads(cli.ok("acl", "check", "--json", "alice", "repository:team/x:push"))
    assert check["refused"] is None
    assert [c["actions"] for c in check["access"]] == [["push"]]
    assert check["scopes"][0]["rule"]["account"] == "group:developers"


async def test_the_row_has_no_usable_local_password(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig
) -> None:
    env = await _env(aiohttp_client, db_url, keys, search_settings)
    await _granted(env, "alice", ALICE_PW, "repository:team/x:pull")
    local_only = dataclasses.replace(
        ldap_config(db_url, keys, search_settings), auth=AuthConfig(("local",))
    )
    local = await start(aiohttp_client, local_only, keys)
    for password in (ALICE_PW, store.UNUSABLE_PASSWORD, ""):
        resp = await _token(local, "alice", password, "repository:team/x:pull")
        assert resp.status == 401


async def test_refusals(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig
) -> None:
    env = await _env(aiohttp_client, db_url, keys, search_settings)
    cases = [
        ("alice", "wrong"),  # wrong password
        ("carol", PASSWORDS["carol"]),  # locked by the password policy
        ("nobody", "x"),  # in neither backend
        ("*)(uid=*", ALICE_PW),  # filter injection
        ("ali*", ALICE_PW),
        ("local-lou", ALICE_PW),  # a local user is never asked of the directory
    ]
    for user, password in cases:
        resp = await _token(env, user, password, "repository:team/x:pull")
        assert resp.status == 401, user
        assert error_of(await resp.json())["message"] == "invalid username or password"
    for name in ("carol", "*)(uid=*", "ali*", "nobody"):
        assert await env.seed.get_user(name) is None


async def test_disabled_row_blocks_the_directory_login_even_when_cached(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, direct_settings: LdapConfig,
    cli: Cli,
) -> None:  # fmt: skip
    env = await _env(aiohttp_client, db_url, keys, direct_settings)
    for _ in range(2):  # the second login, with the row present, is remembered
        assert await _granted(env, "dave", PASSWORDS["dave"], "repository:team/x:pull") == ["pull"]
    assert cli.ok("user", "disable", "dave") == "disabled user 'dave'\n"
    # Directory names are case-insensitive: "DAVE" is the same (disabled) row, not a new one.
    for name in ("dave", "DAVE"):
        resp = await _token(env, name, PASSWORDS["dave"], "repository:team/x:pull")
        assert resp.status == 401
        assert error_of(await resp.json())["message"] == "user account is disabled"
    assert await env.seed.get_user("DAVE") is None
    cli.ok("user", "enable", "dave")
    assert await _granted(env, "dave", PASSWORDS["dave"], "repository:team/x:pull") == ["pull"]


async def test_directory_down_is_503_local_users_and_cached_logins_still_work(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig,
    slapd: Slapd,
) -> None:  # fmt: skip
    env = await _env(aiohttp_client, db_url, keys, search_settings)
    for _ in range(2):
        await _granted(env, "alice", ALICE_PW, "repository:team/x:pull")
    slapd.stop()
    try:
        # Remembered (HMAC-keyed) for this row: no bind needed.
        assert await _granted(env, "alice", ALICE_PW, "repository:team/x:pull") == ["pull"]
        assert await _granted(env, "local-lou", "lou-password", "repository:team/x:pull") == [
            "pull"
        ]
        resp = await _token(env, "dave", PASSWORDS["dave"], "repository:team/x:pull")
        assert resp.status == 503
        assert resp.headers["Retry-After"].isdigit()
        assert error_of(await resp.json())["code"] == "UNAVAILABLE"
        # A wrong password for a remembered user is not remembered: it needs the directory.
        resp = await _token(env, "alice", "wrong", "repository:team/x:pull")
        assert resp.status == 503
    finally:
        slapd.start()
    assert await _granted(env, "dave", PASSWORDS["dave"], "repository:team/x:pull") == ["pull"]


async def test_refresh_tokens_for_a_directory_user(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig
) -> None:
    env = await _env(aiohttp_client, db_url, keys, search_settings, cache_ttl=0)
    resp = await env.post(
        grant_type="password", username="alice", password=ALICE_PW, service="registry",
        client_id="test", access_type="offline", scope="repository:team/x:pull",
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    secret = (await resp.json())["refresh_token"]
    resp = await env.post(
        grant_type="refresh_token", refresh_token=secret, service="registry", client_id="test",
        scope="repository:team/x:push",
    )  # fmt: skip
    assert resp.status == 200, await resp.text()
    access = env.decode((await resp.json())["access_token"])["access"]
    assert access[0]["actions"] == ["push"]
    assert env.app[SERVICES].authenticators.authenticators[-1].name == "ldap"


async def test_wrong_directory_passwords_are_throttled(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair, search_settings: LdapConfig
) -> None:
    # Login throttling sits in front of every backend: guessing a directory password is slowed
    # down like guessing a local one, and a blocked attempt never reaches the directory.
    env = await _env(aiohttp_client, db_url, keys, search_settings)
    statuses = [
        (await _token(env, "alice", "guess", "repository:team/x:pull")).status for _ in range(7)
    ]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:]
    blocked = await _token(env, "alice", ALICE_PW, "repository:team/x:pull")
    assert blocked.status == 429 and blocked.headers["Retry-After"]
    assert error_of(await blocked.json())["code"] == "TOOMANYREQUESTS"
