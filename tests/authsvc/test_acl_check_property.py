"""Property: ``authsvc acl check`` and a real ``GET /auth`` give identical grants.

Hypothesis generates policies (allow and deny rules over user names, globs, ``/regex/``,
``group:NAME``, ``@anonymous``, ``${account}`` and service patterns, with priorities), groups,
users (some disabled, some never created) and token requests. For every case the real server,
running in a thread on a migrated SQLite database, answers ``GET /auth`` with the user's password,
and the CLI's own entry point answers ``acl check --json`` on the same database. The ``access``
claim of the token must equal the ``access`` that acl check reports, and a request the endpoint
refuses must be reported as refused, with the same reason.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import io
import itertools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc import acl, cli, store
from authsvc.app import create_app
from authsvc.appkeys import SERVICES
from authsvc.config import ThrottleConfig
from authsvc.passwords import PasswordHasher
from tests.authsvc.conftest import run_on
from tests.authsvc.tokenhelpers import FAST_PASSWORDS, KeyPair, make_config, make_keys
from tests.authsvc.tokenhelpers import SERVICES as CONFIGURED_SERVICES

EXAMPLES = 500
USERS = ("u0", "u1", "u2", "u3")
GROUPS = ("g0", "g1")
REPOS = ("team/app", "team/db", "lib/x", "{u0}/app", "{u1}/tool", "{u2}/app")
ACTION_SETS = (("pull",), ("push",), ("pull", "push"), ("delete",), ("*",), ("pull", "delete"))
HASHER = PasswordHasher(FAST_PASSWORDS)


@dataclass(frozen=True)
class UserSpec:
    """A user of one case: created or not, enabled or not, and its groups."""

    name: str
    exists: bool
    disabled: bool
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One generated policy and one token request against it."""

    users: tuple[UserSpec, ...]
    rules: tuple[acl.AclRule, ...]
    account: str | None
    service: str
    scopes: tuple[str, ...]


_counter = itertools.count()


def _account_patterns(prefix: str) -> st.SearchStrategy[str]:
    users = [f"{prefix}{u}" for u in USERS]
    return st.sampled_from(
        [
            *users,
            *(f"group:{prefix}{g}" for g in GROUPS),
            "*",
            "*",
            acl.ANONYMOUS,
            f"{prefix}u[01]",
            f"/{prefix}u(2|3)/",
            f"{prefix}*",
        ]
    )


def _name_patterns(prefix: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "team/*",
            "*",
            "*",
            "lib/x",
            "${account}/*",
            "${account}/*",
            "/team/(app|db)/",
            f"{prefix}u0/*",
            "*/app",
        ]
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A fresh namespace per case (``e<n>``): new rows, so no cache can carry a stale answer."""
    prefix = f"e{next(_counter)}"
    users = tuple(
        UserSpec(
            name=f"{prefix}{u}",
            exists=u == "u0" or draw(st.sampled_from([True, True, True, False])),
            disabled=draw(st.sampled_from([False] * 7 + [True])),
            groups=tuple(
                f"{prefix}{g}" for g in draw(st.lists(st.sampled_from(GROUPS), unique=True))
            ),
        )
        for u in USERS
    )
    rule_count = draw(st.integers(min_value=0, max_value=8))
    rules = []
    for _ in range(rule_count):
        account = draw(_account_patterns(prefix))
        name = draw(_name_patterns(prefix))
        if account == acl.ANONYMOUS and acl.ACCOUNT_VAR in name:
            name = "*"
        deny = draw(st.sampled_from([False] * 5 + [True]))
        rules.append(
            acl.AclRule(
                account=account,
                name=name,
                type=draw(st.sampled_from(["repository"] * 4 + ["registry", "*"])),
                actions=() if deny else draw(st.sampled_from(ACTION_SETS)),
                effect="deny" if deny else "allow",
                service=draw(st.sampled_from([None, None, None, "registry", "other-*"])),
                priority=draw(st.sampled_from([100, 100, 10, 200])),
            )
        )
    account = draw(st.sampled_from([None, *(u.name for u in users), users[0].name]))
    scope_list = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda repo, actions: f"repository:{repo}:{','.join(actions)}",
                    st.sampled_from(REPOS).map(
                        lambda r: r.format(**{u: f"{prefix}{u}" for u in USERS})
                    ),
                    st.sampled_from([*ACTION_SETS, ("pull", "push", "delete")] * 2),
                ),
                st.just("registry:catalog:*"),
            ),
            min_size=1,
            max_size=4,
        )
    )
    service = draw(st.sampled_from(CONFIGURED_SERVICES))
    return Case(users, tuple(rules), account, service, tuple(scope_list))


class ServerThread:
    """The real app on an ephemeral port, served by its own event loop in a thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._started.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(30):
            raise RuntimeError("the server thread did not start")

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the server's loop (its caches belong to that thread)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


@dataclass
class Harness:
    url: str
    server: ServerThread
    keys: KeyPair


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Harness]:
    directory = tmp_path_factory.mktemp("acl-property")
    path = directory / "authsvc.db"
    path.write_bytes(_sqlite_template.read_bytes())
    url = f"sqlite+aiosqlite:///{path}"
    keys = make_keys(directory, "ES256")
    # A credential cache would hide nothing here (each case has new users), but it is off so
    # every request takes the full path that a first login takes.
    # Throttling is off: hundreds of generated cases send wrong passwords from one address.
    config = dataclasses.replace(
        make_config(url, keys, cache_ttl=0), throttle=ThrottleConfig(free_attempts=0)
    )
    server = ServerThread(create_app(config))
    server.start()
    yield Harness(url, server, keys)
    server.stop()


def _password(name: str) -> str:
    return f"pw-{name}"


async def _seed(session: AsyncSession, case: Case) -> None:
    for user in case.users:
        if user.exists:
            await store.create_user(session, user.name, HASHER.hash(_password(user.name)))
            if user.disabled:
                await store.set_disabled(session, user.name, True)
    for group in {g for u in case.users for g in u.groups}:
        await store.create_group(session, group)
    for user in case.users:
        if user.exists:
            for group in user.groups:
                await store.add_member(session, group, user.name)
    await store.replace_rules(session, case.rules)


def _endpoint(h: Harness, case: Case) -> tuple[int, Any]:
    query = urllib.parse.urlencode(
        [("service", case.service)] + [("scope", s) for s in case.scopes]
    )
    request = urllib.request.Request(f"http://127.0.0.1:{h.server.port}/auth?{query}")
    if case.account is not None:
        pair = f"{case.account}:{_password(case.account)}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(pair).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _acl_check(h: Harness, case: Case, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AUTHSVC_DATABASE_URL", h.url)
    monkeypatch.setenv("AUTHSVC_SERVICE", ",".join(CONFIGURED_SERVICES))
    account = case.account if case.account is not None else acl.ANONYMOUS
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["acl", "check", "--json", "--service", case.service, account, *case.scopes]
        )
    assert code == 0
    return json.loads(out.getvalue())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)
@given(case=cases())
def test_acl_check_grants_what_the_endpoint_grants(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    run_on(harness.url, lambda session: _seed(session, case))
    # The server caches the rule list for a second; this case's rules must apply at once.
    harness.server.call(lambda: harness.server.app[SERVICES].rule_cache.invalidate())
    status, body = _endpoint(harness, case)
    checked = _acl_check(harness, case, monkeypatch)
    if status == 200:
        claims = jwt.decode(body["token"], options={"verify_signature": False})
        event("granted something" if claims["access"] else "granted nothing")
        assert checked["refused"] is None
        assert checked["access"] == claims["access"]
    else:
        assert status == 401, body
        (error,) = body["errors"]
        event(f"refused: {error['message']}")
        assert checked["refused"] == error["message"]
        assert checked["access"] == []
