"""schemathesis against the served OpenAPI document: no 5xx, and every answer as documented.

The app runs in a thread of this process on an ephemeral port (SQLite, migrated), and every
operation gets a few positive and negative examples with an administrator's token, so the
whole run stays well under a minute. Checks: no server error, documented status, content type,
headers and response schema, and that data the schema refuses is refused (``negative data``).
``positive_data_acceptance`` is left out on purpose: JSON Schema cannot state every rule of a
field (user-name grammar, glob and regex validity, scope syntax), so the server answers 422 to
some input the schema allows, with a message naming the field.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from authsvc import store
from authsvc.api import RESOURCES
from authsvc.api.openapi import document
from authsvc.app import create_app
from authsvc.appkeys import SERVICES, SESSIONMAKER
from tests.authsvc.tokenhelpers import FAST_PASSWORDS, make_config, make_keys

# A few examples per operation and mode: 32 operations, a few hundred requests in all.
EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Refusing schema-violating input: the default list, plus 413 (a generated body beyond the
# server's 64 KiB limit is refused before it is parsed). 5xx is never an acceptable refusal.
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSED}}}
)
schema = schemathesis.openapi.from_dict(document(RESOURCES), config=CONFIG)


class LiveApp:
    """The app served from a private event loop in a thread, with an admin token."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.base_url = ""
        self.headers: dict[str, str] = {}

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def start(self) -> None:
        self.thread.start()
        self.run(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.run(site.start())
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {self.run(self._seed())}"}

    async def _seed(self) -> str:
        from authsvc.passwords import PasswordHasher

        hasher = PasswordHasher(FAST_PASSWORDS)
        async with store.transaction(self.app[SESSIONMAKER]) as session:
            await store.create_user(session, "root", hasher.hash("root-pw"), admin=True)
            await store.create_user(session, "alice", hasher.hash("alice-pw"))
        _, secret = await self.app[SERVICES].pats.create(
            "root", name="schemathesis", scopes=["api:admin:*", "account:self:*"], expires_in=None
        )
        return secret

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[LiveApp]:
    root = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(_sqlite_template, root / "authsvc.db")
    keys = make_keys(root, "ES256")
    app = LiveApp(create_app(make_config(f"sqlite+aiosqlite:///{root / 'authsvc.db'}", keys)))
    app.start()
    try:
        yield app
    finally:
        app.stop()


def test_the_served_document_is_the_one_tested(live: LiveApp) -> None:
    served = requests.get(f"{live.base_url}/api/v1/openapi.json", timeout=10).json()
    assert served == document(RESOURCES)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms(case: schemathesis.Case[Any], live: LiveApp) -> None:
    case.call_and_validate(base_url=live.base_url, headers=live.headers, checks=CHECKS)
