"""Finer grants at the token endpoint: per-account token TTLs, rule windows, filtered catalog."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from authsvc import store
from authsvc.appkeys import SERVICES
from authsvc.models import utcnow
from svckit.catalog_filter import CLAIM, CatalogFilter
from tests.authsvc.token_endpoint.helpers import (
    ALICE,
    ALICE_PW,
    BOB,
    BOB_PW,
    Env,
    post_refresh,
    refresh_token_for,
)
from tests.authsvc.token_endpoint.test_robots import robots
from tests.authsvc.tokenhelpers import basic

CATALOG = "registry:catalog:*"


async def add_rule(env: Env, **fields: Any) -> None:
    async with store.transaction(env.seed.sessionmaker) as session:
        await store.add_rule(session, **fields)


async def token_of(env: Env, user: str, secret: str, *scopes: str) -> dict[str, Any]:
    resp = await env.get(service="registry", scope=list(scopes), headers=basic(user, secret))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    claims = env.decode(body["token"])
    assert body["expires_in"] == claims["exp"] - claims["iat"]
    return claims


def lifetime(claims: dict[str, Any]) -> int:
    return int(claims["exp"] - claims["iat"])


async def test_a_per_account_ttl_sets_exp_on_every_path(env: Env) -> None:
    async with store.transaction(env.seed.sessionmaker) as session:
        await store.set_token_ttl(session, BOB, 90)
    # Basic password (GET) and the password grant (POST).
    assert lifetime(await token_of(env, BOB, BOB_PW)) == 90
    resp = await env.post(
        grant_type="password", username=BOB, password=BOB_PW, service="registry", client_id="t"
    )
    assert (await resp.json())["expires_in"] == 90
    # The refresh grant, a personal access token, and a robot's own TTL.
    refresh = await refresh_token_for(env, BOB, BOB_PW)
    claims = env.decode((await (await post_refresh(env, refresh)).json())["access_token"])
    assert lifetime(claims) == 90
    _, pat = await env.app[SERVICES].pats.create(
        BOB, name="ci", scopes=["repository:everyone/*:pull"], expires_in=None
    )
    assert lifetime(await token_of(env, BOB, pat)) == 90
    _, secret = await robots(env).add("ci", scopes=["repository:x:pull"], expires_in=None,
                                     token_ttl=120)  # fmt: skip
    assert lifetime(await token_of(env, "robot$ci", secret)) == 120
    # Anyone without one gets AUTHSVC_TOKEN_TTL; returning to the default takes effect at once.
    assert lifetime(await token_of(env, ALICE, ALICE_PW)) == 300
    async with store.transaction(env.seed.sessionmaker) as session:
        await store.set_token_ttl(session, BOB, None)
    assert lifetime(await token_of(env, BOB, BOB_PW)) == 300


async def test_a_rule_stops_granting_when_its_window_ends(env: Env) -> None:
    end = utcnow().replace(microsecond=0) + dt.timedelta(seconds=2)
    await add_rule(env, account=BOB, name="temp/*", actions=["pull"], valid_until=end)
    await add_rule(
        env, account=BOB, name="later/*", actions=["pull"], valid_from=end + dt.timedelta(days=1)
    )
    scopes = ("repository:temp/x:pull", "repository:later/x:pull")
    first = await token_of(env, BOB, BOB_PW, *scopes)
    assert first["access"] == [{"type": "repository", "name": "temp/x", "actions": ["pull"]}]
    # The rule cache (1 s) is not flushed: the window is checked when deciding.
    while utcnow() < end:
        await asyncio.sleep(0.1)
    assert (await token_of(env, BOB, BOB_PW, *scopes))["access"] == []


async def test_a_filtered_rule_grants_the_catalog_with_the_pull_patterns(env: Env) -> None:
    # Alice's own catalog rule (env) comes first and grants it whole; everyone else gets it
    # filtered. Bob may pull everyone/* (env) except everyone/secret, denied first.
    await add_rule(env, account=BOB, name="everyone/secret", actions=[], effect="deny",
                   priority=10)  # fmt: skip
    await add_rule(env, account=BOB, name="bob-push/*", actions=["push"], priority=20)
    await add_rule(env, account="*", type="registry", name="catalog", actions=["*"],
                   filtered=True, priority=500)  # fmt: skip
    whole = await token_of(env, ALICE, ALICE_PW, CATALOG)
    assert whole["access"] == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert CLAIM not in whole
    claims = await token_of(env, BOB, BOB_PW, CATALOG)
    assert claims["access"] == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    shown = CatalogFilter.from_claim(claims[CLAIM])
    assert shown.shows("everyone/app")
    assert not shown.shows("everyone/secret")  # the deny before the allow is kept
    assert not shown.shows("bob-push/x")  # allowed, but not to pull
    assert not shown.shows("alice/app")
    # A token that does not ask for the catalog carries no claim.
    assert CLAIM not in await token_of(env, BOB, BOB_PW, "repository:everyone/app:pull")
    # A personal access token's caps narrow the list further.
    _, pat = await env.app[SERVICES].pats.create(
        BOB, name="ci", scopes=[CATALOG, "repository:everyone/a*:pull"], expires_in=None
    )
    capped = CatalogFilter.from_claim((await token_of(env, BOB, pat, CATALOG))[CLAIM])
    assert capped.shows("everyone/app") and not capped.shows("everyone/zed")


async def test_a_filter_too_big_for_a_token_grants_no_catalog(env: Env) -> None:
    for i in range(5):
        await add_rule(env, account=BOB, name=f"{'n' * 1000}{i}/*", actions=["pull"])
    await add_rule(env, account="*", type="registry", name="catalog", actions=["*"],
                   filtered=True, priority=500)  # fmt: skip
    claims = await token_of(env, BOB, BOB_PW, CATALOG)
    assert claims["access"] == [] and CLAIM not in claims
