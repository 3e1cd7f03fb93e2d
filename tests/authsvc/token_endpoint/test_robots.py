"""Robot accounts at the token endpoint: robot$NAME with its secret, capped by its scopes."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from authsvc.appkeys import SERVICES, SESSIONMAKER
from authsvc.pat_service import REVALIDATE_AFTER
from authsvc.robot_service import RobotService
from tests.authsvc.token_endpoint.helpers import Env
from tests.authsvc.tokenhelpers import basic


def robots(env: Env) -> RobotService:
    return RobotService(env.app[SESSIONMAKER], env.app[SERVICES].pats)


async def access(env: Env, user: str, secret: str, *scopes: str) -> tuple[int, object]:
    resp = await env.get(service="registry", scope=list(scopes), headers=basic(user, secret))
    if resp.status != 200:
        return resp.status, None
    return 200, env.decode((await resp.json())["token"])["access"]


async def test_robot_login_is_acl_intersect_scopes(env: Env) -> None:
    # The env's ACL gives everyone pull on everyone/*; robot$* also gets push on team/*.
    await env.seed.rule("robot$*", "team/*", ["pull", "push", "delete"])
    _, secret = await robots(env).add(
        "deploy", scopes=["repository:team/app:pull"], expires_in=dt.timedelta(days=1)
    )
    status, granted = await access(
        env, "robot$deploy", secret, "repository:team/app:pull,push", "repository:team/other:pull"
    )
    assert status == 200
    assert granted == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    # Without the secret's owner name, or with a password, it is refused.
    assert (await access(env, "deploy", secret))[0] == 401
    assert (await access(env, "robot$deploy", "password"))[0] == 401


async def test_rotation_overlap_and_disable(env: Env) -> None:
    service = robots(env)
    _, old = await service.add("ci", scopes=["repository:ci/*:pull"], expires_in=None)
    _, new = await service.rotate("ci", overlap=dt.timedelta(hours=1))
    assert (await access(env, "robot$ci", old))[0] == 200
    assert (await access(env, "robot$ci", new))[0] == 200
    _, newest = await service.rotate("ci", overlap=dt.timedelta(0))
    assert (await access(env, "robot$ci", newest))[0] == 200
    deadline = time.monotonic() + REVALIDATE_AFTER + 1
    while (await access(env, "robot$ci", old))[0] != 401:
        assert time.monotonic() < deadline, "an expired secret still works"
        await asyncio.sleep(0.05)
    await service.set_disabled("ci", True)
    deadline = time.monotonic() + REVALIDATE_AFTER + 1
    while (await access(env, "robot$ci", newest))[0] != 401:
        assert time.monotonic() < deadline, "a disabled robot still logs in"
        await asyncio.sleep(0.05)
