"""The registry's Prometheus metrics (Distribution's names) and request ids, read back for real.

The metrics are served on ``http.debug.addr`` when ``http.debug.prometheus.enabled`` is set,
as Distribution does, and parsed with the Prometheus client's own text parser.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from registry.config import ConfigError, load_config
from tests.registry.api_support import ClientFactory, push_blob, registry_config
from tests.support import free_port

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int, path: str) -> Samples:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        assert resp.status == 200
        text = await resp.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_and_storage_actions_under_distributions_names(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    port = free_port()
    config = registry_config(tmp_path / "root")
    http = replace(
        config.http,
        debug_host="127.0.0.1",
        debug_port=port,
        prometheus=True,
        prometheus_path="/debug/metrics",
    )
    client = await make_client(replace(config, http=http))
    digest = await push_blob(client, "team/app", b"layer bytes")
    for _ in range(2):
        resp = await client.get(f"/v2/team/app/blobs/{digest}")
        assert resp.status == 200
    assert (await client.get("/v2/team/app/manifests/missing")).status == 404
    samples = await scrape(port, "/debug/metrics")

    requests = "registry_http_requests_total"
    assert sample(samples, requests, code="200", handler="blob", method="GET") == 2
    assert sample(samples, requests, code="201", handler="blob_upload", method="POST") == 1
    assert sample(samples, requests, code="404", handler="manifest", method="GET") == 1
    duration = "registry_http_request_duration_seconds_count"
    assert sample(samples, duration, handler="blob", method="GET") == 2
    assert sample(samples, "registry_http_response_size_bytes_sum", handler="blob") >= 2 * len(
        b"layer bytes"
    )
    assert sample(samples, "registry_http_request_size_bytes_sum", handler="blob_upload") == len(
        b"layer bytes"
    )
    # Nothing is in flight once every response has been read.
    assert sample(samples, "registry_http_in_flight_requests", handler="blob") == 0
    action = "registry_storage_action_seconds_count"
    assert sample(samples, action, driver="filesystem", action="Stat") >= 2
    assert sample(samples, action, driver="filesystem", action="Move") >= 1


async def test_without_prometheus_nothing_listens_and_ids_are_still_returned(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    port = free_port()
    config = registry_config(tmp_path / "root")
    client = await make_client(
        replace(config, http=replace(config.http, debug_host="127.0.0.1", debug_port=port))
    )
    resp = await client.get("/v2/", headers={"X-Request-Id": "req-1"})
    assert resp.headers["X-Request-Id"] == "req-1"
    resp = await client.get("/v2/nope/tags/list")
    assert resp.status == 404
    assert len(resp.headers["X-Request-Id"]) == 32
    with pytest.raises(aiohttp.ClientConnectionError):
        await scrape(port, "/metrics")


def test_distributions_keys_and_variables_are_read(tmp_path: Path) -> None:
    config = load_config(
        None,
        {
            "REGISTRY_LOG_FORMATTER": "json",
            "REGISTRY_HTTP_DEBUG_ADDR": "127.0.0.1:5901",
            "REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED": "true",
            "REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH": "/m",
        },
    )
    assert config.log.formatter == "json"
    assert (config.http.debug_host, config.http.debug_port) == ("127.0.0.1", 5901)
    assert config.http.prometheus and config.http.prometheus_path == "/m"
    with pytest.raises(ConfigError, match=r"log\.formatter"):
        load_config(None, {"REGISTRY_LOG_FORMATTER": "logstash"})
    with pytest.raises(ConfigError, match=r"http\.debug\.prometheus\.path"):
        load_config(None, {"REGISTRY_HTTP_DEBUG_PROMETHEUS_PATH": "metrics"})
    with pytest.raises(ConfigError, match=r"http\.workers"):
        load_config(None, {"REGISTRY_HTTP_WORKERS": "0"})
