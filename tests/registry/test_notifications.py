"""Webhook notifications end to end: the real app, a real receiving server on loopback.

The event shapes and which requests emit them were checked against Distribution 2.8.2
(Debian's docker-registry) with the same receiver; see registry/handlers/notify.py.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from registry.appkeys import NOTIFIER
from registry.config import AuthTokenConfig
from tests.registry.api_support import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    ClientFactory,
    push_blob,
    push_image,
    sha256,
)
from tests.registry.auth_tokens import ISSUER, REALM, SERVICE, Pki, es256_token
from tests.registry.notify_support import (
    endpoint,
    notifying_config,
    start_receiver,
    summary,
)
from tests.registry.test_metrics_and_logs import sample, scrape
from tests.support import free_port

EVENTS_TYPE = "application/vnd.docker.distribution.events.v1+json"
BLOB = "application/octet-stream"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


async def test_push_pull_delete_events_in_order_with_distributions_envelope(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = await start_receiver(aiohttp_server)
    hook = endpoint(receiver.url, headers=(("Authorization", "Bearer hook-secret"),))
    client = await make_client(notifying_config(tmp_path / "root", hook))
    image = await push_image(client, "team/app", "v1")
    config_digest, layer_digest = sha256(image.config), sha256(image.layers[0])
    # A chunked upload: the push event is sent when the PUT completes it.
    chunked = b"chunked layer"
    resp = await client.post("/v2/team/app/blobs/uploads/")
    location = resp.headers["Location"]
    resp = await client.patch(location, data=chunked)
    resp = await client.put(resp.headers["Location"], params={"digest": sha256(chunked)})
    assert resp.status == 201
    accept = {"Accept": OCI_MANIFEST}
    get = await client.get("/v2/team/app/manifests/v1", headers=accept)
    assert get.status == 200
    request_id = get.headers["X-Request-Id"]
    assert (
        await client.head(f"/v2/team/app/manifests/{image.digest}", headers=accept)
    ).status == 200
    etag = {**accept, "If-None-Match": f'"{image.digest}"'}
    assert (await client.get("/v2/team/app/manifests/v1", headers=etag)).status == 304
    assert (await client.get(f"/v2/team/app/blobs/{layer_digest}")).status == 200
    assert (await client.head(f"/v2/team/app/blobs/{layer_digest}")).status == 200
    # Distribution's ServeBlob succeeds with 304 too, and its listener reports a pull.
    blob_etag = {"If-None-Match": f'"{layer_digest}"'}
    assert (await client.get(f"/v2/team/app/blobs/{layer_digest}", headers=blob_etag)).status == 304
    # Failures send nothing.
    assert (await client.get("/v2/team/app/manifests/v2", headers=accept)).status == 404
    assert (await client.get(f"/v2/team/app/blobs/{sha256(b'nope')}")).status == 404
    mount = f"/v2/team/other/blobs/uploads/?mount={layer_digest}&from=team/app"
    assert (await client.post(mount)).status == 201
    assert (await client.delete(f"/v2/team/other/blobs/{layer_digest}")).status == 202
    assert (await client.put(
        "/v2/team/app/manifests/v2", data=image.manifest, headers={"Content-Type": OCI_MANIFEST}
    )).status == 201  # fmt: skip
    assert (await client.delete("/v2/team/app/manifests/v2")).status == 202
    assert (await client.delete(f"/v2/team/app/manifests/{image.digest}")).status == 202

    events = await receiver.wait_for(15)
    m = image.digest
    assert summary(events) == [
        ("push", "POST", BLOB, "team/app", None, config_digest),
        ("push", "POST", BLOB, "team/app", None, layer_digest),
        ("push", "PUT", OCI_MANIFEST, "team/app", "v1", m),
        ("push", "PUT", BLOB, "team/app", None, sha256(chunked)),
        ("pull", "GET", OCI_MANIFEST, "team/app", "v1", m),
        ("pull", "HEAD", OCI_MANIFEST, "team/app", None, m),
        ("pull", "GET", BLOB, "team/app", None, layer_digest),
        ("pull", "HEAD", BLOB, "team/app", None, layer_digest),
        ("pull", "GET", BLOB, "team/app", None, layer_digest),
        ("mount", "POST", BLOB, "team/other", None, layer_digest),
        ("delete", "DELETE", None, "team/other", None, layer_digest),
        ("push", "PUT", OCI_MANIFEST, "team/app", "v2", m),
        ("delete", "DELETE", None, "team/app", "v2", None),
        ("delete", "DELETE", None, "team/app", None, m),
        ("delete", "DELETE", None, "team/app", "v1", None),
    ]
    await asyncio.sleep(0.1)
    assert len(receiver.accepted) == 15

    delivery = receiver.accepted[2]
    assert delivery.headers["Content-Type"] == EVENTS_TYPE
    assert delivery.headers["Authorization"] == "Bearer hook-secret"
    pushed = delivery.event
    assert set(pushed) == {"id", "timestamp", "action", "target", "request", "actor", "source"}
    uuid.UUID(pushed["id"])
    assert TIMESTAMP.fullmatch(pushed["timestamp"])
    host = f"{client.server.host}:{client.server.port}"
    assert pushed["target"] == {
        "mediaType": OCI_MANIFEST,
        "size": len(image.manifest),
        "digest": m,
        "length": len(image.manifest),
        "repository": "team/app",
        "url": f"http://{host}/v2/team/app/manifests/{m}",
        "tag": "v1",
    }
    assert pushed["actor"] == {}
    assert pushed["request"]["method"] == "PUT"
    assert pushed["request"]["host"] == host
    assert re.fullmatch(r"127\.0\.0\.1:\d+", pushed["request"]["addr"])
    assert pushed["request"]["useragent"].startswith("Python")
    # Distribution's source: the host name and the configured http.addr port.
    assert pushed["source"]["addr"].endswith(":5000")
    uuid.UUID(pushed["source"]["instanceID"])
    assert events[4]["request"]["id"] == request_id
    assert events[6]["target"]["url"] == f"http://{host}/v2/team/app/blobs/{layer_digest}"
    assert events[6]["target"]["size"] == len(image.layers[0])
    assert events[9]["target"]["fromRepository"] == "team/app"
    assert events[10]["target"] == {"repository": "team/other", "digest": layer_digest}
    # One registry instance: one instanceID, a fresh id per event.
    assert len({e["source"]["instanceID"] for e in events}) == 1
    assert len({e["id"] for e in events}) == 15


async def test_references_and_ignore_rules(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    everything = await start_receiver(aiohttp_server)
    manifests_only = await start_receiver(aiohttp_server)
    no_pulls = await start_receiver(aiohttp_server)
    config = notifying_config(
        tmp_path / "root",
        endpoint(everything.url, "everything"),
        endpoint(manifests_only.url, "manifests", ignored_media_types=frozenset({BLOB})),
        endpoint(no_pulls.url, "no-pulls", ignored_actions=frozenset({"pull"})),
        include_references=True,
    )
    client = await make_client(config)
    image = await push_image(client, "team/app", "v1")
    resp = await client.get("/v2/team/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert resp.status == 200
    assert (await client.get(f"/v2/team/app/blobs/{sha256(image.config)}")).status == 200

    events = await everything.wait_for(5)
    await no_pulls.wait_for(3)
    await manifests_only.wait_for(2)
    await asyncio.sleep(0.1)
    assert [e["action"] for e in events] == ["push", "push", "push", "pull", "pull"]
    references = [
        {"mediaType": OCI_CONFIG, "size": len(image.config), "digest": sha256(image.config)},
        {"mediaType": OCI_LAYER, "size": len(image.layers[0]), "digest": sha256(image.layers[0])},
    ]
    assert events[2]["target"]["references"] == references
    assert events[3]["target"]["references"] == references
    assert "references" not in events[4]["target"]
    assert summary(manifests_only.events) == [summary(events)[2], summary(events)[3]]
    assert [e["action"] for e in no_pulls.events] == ["push", "push", "push"]


async def test_actor_is_the_tokens_subject(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path, pki: Pki, bundle: Path
) -> None:
    receiver = await start_receiver(aiohttp_server)
    config = notifying_config(tmp_path / "root", endpoint(receiver.url))
    auth = AuthTokenConfig(realm=REALM, service=SERVICE, issuer=ISSUER, rootcertbundle=bundle)
    client = await make_client(replace(config, auth=auth))
    access = [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}]
    token = es256_token(pki, int(time.time()), sub="bob", access=access)
    data = b"by bob"
    resp = await client.post(
        f"/v2/team/app/blobs/uploads/?digest={sha256(data)}",
        data=data,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status == 201
    # Refused requests send nothing.
    assert (await client.get(f"/v2/team/app/blobs/{sha256(data)}")).status == 401
    (event,) = await receiver.wait_for(1)
    assert event["actor"] == {"name": "bob"}
    await asyncio.sleep(0.1)
    assert len(receiver.accepted) == 1


async def test_failing_endpoint_recovers_and_loses_nothing(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = await start_receiver(aiohttp_server, fail_first=5)
    port = free_port()
    config = notifying_config(
        tmp_path / "root",
        endpoint(receiver.url, threshold=2, backoff=0.1),
        debug_host="127.0.0.1",
        debug_port=port,
        prometheus=True,
    )
    client = await make_client(config)
    digests = [await push_blob(client, f"team/app{i}", f"blob {i}".encode()) for i in range(8)]
    events = await receiver.wait_for(8)
    # In order, each once, although the first deliveries were refused.
    assert [e["target"]["digest"] for e in events] == digests
    assert receiver.attempts == 8 + 5
    samples = await scrape(port, "/metrics")
    events_total = "registry_notifications_events_total"
    assert sample(samples, events_total, type="Events", endpoint="recv") == 8
    assert sample(samples, events_total, type="Successes", endpoint="recv") == 8
    assert sample(samples, events_total, type="Failures", endpoint="recv") == 5
    status = "registry_notifications_status_total"
    assert sample(samples, status, code="500 Internal Server Error", endpoint="recv") == 5
    assert sample(samples, status, code="200 OK", endpoint="recv") == 8
    assert sample(samples, "registry_notifications_pending_total", endpoint="recv") == 0
    assert sample(samples, "registry_notifications_dropped_total", endpoint="recv") == 0


async def test_backoff_spaces_retries_after_the_threshold(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    receiver = await start_receiver(aiohttp_server, fail_first=4)
    config = notifying_config(tmp_path / "root", endpoint(receiver.url, threshold=2, backoff=0.3))
    client = await make_client(config)
    started = time.monotonic()
    await push_blob(client, "team/app", b"one")
    await receiver.wait_for(1)
    # Two failures at once, then the 3rd, 4th and the successful 5th attempt 0.3 s apart.
    assert time.monotonic() - started >= 3 * 0.3


async def test_stuck_endpoint_never_slows_requests_and_drops_the_oldest(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path
) -> None:
    stuck = await start_receiver(aiohttp_server)
    stuck.gate.clear()  # accepts connections, answers nothing until the gate opens
    healthy = await start_receiver(aiohttp_server)
    dead = f"http://127.0.0.1:{free_port()}/events"  # nothing listens there
    port = free_port()
    config = notifying_config(
        tmp_path / "root",
        endpoint(stuck.url, "stuck", timeout=30.0, queue_size=5),
        endpoint(dead, "dead", threshold=1, backoff=30.0, queue_size=3, purge_timeout=0.1),
        endpoint(healthy.url, "healthy"),
        debug_host="127.0.0.1",
        debug_port=port,
        prometheus=True,
    )
    client = await make_client(config)
    digest = await push_blob(client, "team/app", b"pulled often")
    await stuck.wait_for_attempts(1)  # the push is in flight to the stuck endpoint
    latencies = []
    request_ids = []
    for _ in range(30):
        started = time.monotonic()
        resp = await client.head(f"/v2/team/app/blobs/{digest}")
        latencies.append(time.monotonic() - started)
        assert resp.status == 200
        request_ids.append(resp.headers["X-Request-Id"])
    # A request never waits for an endpoint (the stuck one would hold it for 30 s).
    assert max(latencies) < 1.0, latencies

    await healthy.wait_for(31)
    samples = await scrape(port, "/metrics")
    dropped = "registry_notifications_dropped_total"
    assert sample(samples, dropped, endpoint="stuck") == 30 - 5
    assert sample(samples, dropped, endpoint="dead") == 31 - 1 - 3
    assert sample(samples, dropped, endpoint="healthy") == 0
    assert sample(samples, "registry_notifications_pending_total", endpoint="stuck") == 6
    assert (
        sample(samples, "registry_notifications_events_total", type="Errors", endpoint="dead") >= 1
    )

    # Once the endpoint answers again it gets the event in flight, then the newest five.
    stuck.gate.set()
    events = await stuck.wait_for(6)
    assert events[0]["action"] == "push"
    assert [e["request"]["id"] for e in events[1:]] == request_ids[-5:]
    samples = await scrape(port, "/metrics")
    assert sample(samples, "registry_notifications_pending_total", endpoint="stuck") == 0


async def test_shutdown_drains_for_a_bounded_time(
    make_client: ClientFactory, aiohttp_server: Any, tmp_path: Path, caplog: Any
) -> None:
    stuck = await start_receiver(aiohttp_server)
    stuck.gate.clear()
    healthy = await start_receiver(aiohttp_server)
    config = notifying_config(
        tmp_path / "root",
        endpoint(stuck.url, "stuck", timeout=30.0, purge_timeout=0.3),
        endpoint(healthy.url, "healthy", purge_timeout=10.0),
    )
    client = await make_client(config)
    for i in range(5):
        await push_blob(client, "team/app", f"blob {i}".encode())
    notifier = client.app[NOTIFIER]
    started = time.monotonic()
    await client.close()
    # The stuck endpoint's bound, not its 30 s timeout, decides how long shutdown takes.
    assert time.monotonic() - started < 5.0
    stuck_endpoint, healthy_endpoint = notifier.endpoints
    assert stuck_endpoint.dropped == 5 and stuck_endpoint.pending == 0
    assert healthy_endpoint.dropped == 0 and len(healthy.accepted) == 5
    assert "endpoint stuck: stopped with 5 events undelivered" in caplog.text
    stuck.gate.set()  # let the receiver's held request finish before its server stops


async def test_no_endpoints_no_notifier(make_client: ClientFactory, tmp_path: Path) -> None:
    client = await make_client(notifying_config(tmp_path / "root"))
    await push_blob(client, "team/app", b"quiet")
    assert NOTIFIER not in client.app
