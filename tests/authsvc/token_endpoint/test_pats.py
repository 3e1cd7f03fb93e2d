"""Personal access tokens at the token endpoint: grant = ACL ∩ token scopes; revocation is quick."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from authsvc.appkeys import SERVICES
from authsvc.pat_service import REVALIDATE_AFTER
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, Env, error_of
from tests.authsvc.tokenhelpers import basic


async def create_pat(env: Env, *scopes: str, owner: str = ALICE) -> tuple[int, str]:
    record, secret = await env.app[SERVICES].pats.create(
        owner, name="ci", scopes=list(scopes), expires_in=dt.timedelta(days=1)
    )
    return record.id, secret


async def access_of(env: Env, user: str, secret: str, *scopes: str) -> list[dict[str, object]]:
    resp = await env.get(service="registry", scope=list(scopes), headers=basic(user, secret))
    assert resp.status == 200, await resp.text()
    access: list[dict[str, object]] = env.decode((await resp.json())["token"])["access"]
    return access


async def wait_for_refusal(env: Env, user: str, secret: str, *, deadline: float) -> float:
    """Poll until the token endpoint refuses ``secret``; fail if that takes past ``deadline``."""
    start = time.monotonic()
    while True:
        resp = await env.get(service="registry", headers=basic(user, secret))
        if resp.status == 401:
            return time.monotonic() - start
        assert time.monotonic() - start < deadline, "the PAT still works"
        await asyncio.sleep(0.05)


async def test_grant_is_the_intersection_of_acl_and_token_scopes(env: Env) -> None:
    # alice's ACL: alice/* pull,push and shared/* pull. The token: alice/app pull only, and
    # shared/* pull,push (push is not in her ACL, so the token cannot add it).
    _, secret = await create_pat(env, "repository:alice/app:pull", "repository:shared/*:pull,push")
    access = await access_of(
        env,
        ALICE,
        secret,
        "repository:alice/app:pull,push",
        "repository:alice/other:pull",
        "repository:shared/lib:pull,push",
    )
    assert access == [
        {"type": "repository", "name": "alice/app", "actions": ["pull"]},
        {"type": "repository", "name": "shared/lib", "actions": ["pull"]},
    ]


async def test_the_owner_name_must_match(env: Env) -> None:
    _, secret = await create_pat(env, "repository:alice/*:pull")
    resp = await env.get(service="registry", headers=basic("bob", secret))
    assert resp.status == 401
    assert (await access_of(env, "ALICE", secret)) == []  # names are matched canonically


async def test_a_typo_is_refused_without_a_lookup(env: Env) -> None:
    _, secret = await create_pat(env, "repository:alice/*:pull")
    typo = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    resp = await env.get(service="registry", headers=basic(ALICE, typo))
    assert resp.status == 401
    assert error_of(await resp.json())["message"] == "invalid username or password"


async def test_revoking_stops_it_within_a_second(env: Env) -> None:
    pat_id, secret = await create_pat(env, "repository:alice/*:pull")
    assert await access_of(env, ALICE, secret, "repository:alice/app:pull")
    await env.app[SERVICES].pats.revoke(pat_id)
    await wait_for_refusal(env, ALICE, secret, deadline=REVALIDATE_AFTER + 1)


async def test_disabling_the_owner_stops_it_within_a_second(env: Env) -> None:
    _, secret = await create_pat(env, "repository:alice/*:pull")
    assert await access_of(env, ALICE, secret, "repository:alice/app:pull")
    await _disable(env, ALICE)
    await wait_for_refusal(env, ALICE, secret, deadline=REVALIDATE_AFTER + 1)


async def _disable(env: Env, name: str) -> None:
    from authsvc import store

    async with env.seed.sessionmaker() as session:
        await store.set_disabled(session, name, True)
        await session.commit()


async def test_a_pat_login_gets_no_refresh_token_and_the_password_still_works(env: Env) -> None:
    _, secret = await create_pat(env, "repository:alice/*:pull")
    resp = await env.post(
        grant_type="password",
        username=ALICE,
        password=secret,
        service="registry",
        client_id="docker",
        access_type="offline",
    )
    body = await resp.json()
    assert resp.status == 200 and "refresh_token" not in body
    resp = await env.get(service="registry", headers=basic(ALICE, ALICE_PW))
    assert resp.status == 200
