"""The metrics listener and request ids of the token endpoint, scraped and read back for real.

The metrics are read with the Prometheus client's own text parser from the listener that
``AUTHSVC_METRICS_LISTEN`` opens; counters are process-wide, so each test compares before and
after.
"""

from __future__ import annotations

import dataclasses
import json

import aiohttp
from multidict import CIMultiDict
from prometheus_client.parser import text_string_to_metric_families

from authsvc import store
from authsvc.appkeys import AUDIT, SESSIONMAKER
from tests.authsvc.token_endpoint.helpers import ALICE, ALICE_PW, AiohttpClient, Env, start
from tests.authsvc.tokenhelpers import KeyPair, basic, make_config
from tests.support import free_port

SCOPE = "repository:alice/app:pull"


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on the metrics listener, keyed by name and sorted labels."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def start_with_metrics(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> tuple[Env, int]:
    port = free_port()
    config = make_config(db_url, keys, cache_ttl=60)
    server = dataclasses.replace(config.server, metrics_host="127.0.0.1", metrics_port=port)
    env = await start(aiohttp_client, dataclasses.replace(config, server=server), keys)
    await env.seed.user(ALICE, ALICE_PW)
    await env.seed.rule(ALICE, "alice/*", ["pull", "push"])
    return env, port


async def test_tokens_failures_cache_and_durations_are_counted(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    env, port = await start_with_metrics(aiohttp_client, db_url, keys)
    before = await scrape(port)
    for _ in range(3):
        resp = await env.get(service="registry", scope=SCOPE, headers=basic(ALICE, ALICE_PW))
        assert resp.status == 200
    resp = await env.get(service="registry", scope=SCOPE, headers=basic(ALICE, "wrong"))
    assert resp.status == 401
    assert (await env.get(service="registry", scope=SCOPE)).status == 200  # anonymous
    resp = await env.post(
        grant_type="password", username=ALICE, password=ALICE_PW, service="registry",
        client_id="test", scope=SCOPE,
    )  # fmt: skip
    assert resp.status == 200
    assert (await env.get(service="unknown-service")).status == 400
    after = await scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    issued = "authsvc_tokens_issued_total"
    assert delta(issued, grant="basic", service="registry") == 3
    assert delta(issued, grant="anonymous", service="registry") == 1
    assert delta(issued, grant="password", service="registry") == 1
    refused = "authsvc_tokens_refused_total"
    assert delta(refused, grant="basic", service="registry", code="UNAUTHORIZED") == 1
    # An unknown service is refused, and counted without becoming a label value.
    assert delta(refused, grant="anonymous", service="", code="SERVICE_UNKNOWN") == 1
    assert delta("authsvc_login_failures_total", grant="basic") == 1
    # The first right password is verified; the next ones come from the cache.
    assert delta("authsvc_credential_cache_requests_total", result="hit") >= 2
    assert delta("authsvc_password_verify_seconds_count") >= 2
    assert (
        delta(
            "authsvc_http_request_duration_seconds_count", method="GET", route="/auth", code="200"
        )
        == 4
    )
    assert (
        delta(
            "authsvc_http_request_duration_seconds_count", method="POST", route="/auth", code="200"
        )
        == 1
    )
    # Label values are bounded: no user name, password or query string anywhere.
    names = " ".join(repr(key) for key in after)
    for leaked in (ALICE, ALICE_PW, "wrong", "alice/app"):
        assert leaked not in names


async def test_the_request_id_is_returned_and_recorded_in_the_audit(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    env, _ = await start_with_metrics(aiohttp_client, db_url, keys)
    ok = await env.get(
        service="registry", scope=SCOPE,
        headers={**basic(ALICE, ALICE_PW), "X-Request-Id": "edge-1234"},
    )  # fmt: skip
    assert ok.headers["X-Request-Id"] == "edge-1234"
    bad = await env.get(service="registry", scope=SCOPE, headers=basic(ALICE, "nope"))
    assert bad.status == 401
    made = bad.headers["X-Request-Id"]
    assert len(made) == 32
    await env.app[AUDIT].flush()
    async with store.transaction(env.app[SESSIONMAKER]) as session:
        rows = await store.list_audit_events(session)
    by_event = {row.event: row for row in rows}
    assert by_event["token_issued"].request_id == "edge-1234"
    assert by_event["login_failed"].request_id == made


async def test_two_authorization_headers_are_refused(
    aiohttp_client: AiohttpClient, db_url: str, keys: KeyPair
) -> None:
    env, _ = await start_with_metrics(aiohttp_client, db_url, keys)
    both = CIMultiDict(
        [*basic(ALICE, ALICE_PW).items(), ("Authorization", "Basic " + "b3RoZXI6cGFzcw==")]
    )
    resp = await env.get(service="registry", scope=SCOPE, headers=both)
    assert resp.status == 400
    body = await resp.json()
    assert "more than one Authorization header" in json.dumps(body)
