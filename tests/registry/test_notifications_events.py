"""The event envelope as Distribution 2.8 writes it (field names, omissions, time format)."""

from __future__ import annotations

import datetime as dt
import json

from registry.notifications.events import (
    Event,
    Reference,
    RequestRecord,
    SourceRecord,
    Target,
    envelope,
    event_json,
    new_event,
)

REQUEST = RequestRecord("req-1", "127.0.0.1:40000", "registry:5000", "PUT", "skopeo/1.13")
SOURCE = SourceRecord("host:5000", "3f1c9a52-0000-4000-8000-000000000000")
DIGEST = "sha256:" + "ab" * 32


def test_a_manifest_push_as_distribution_writes_it() -> None:
    target = Target(
        repository="team/app",
        media_type="application/vnd.oci.image.manifest.v1+json",
        size=411,
        digest=DIGEST,
        url=f"http://registry:5000/v2/team/app/manifests/{DIGEST}",
        tag="v1",
        references=(Reference("application/vnd.oci.image.config.v1+json", 37, DIGEST),),
    )
    when = dt.datetime(2026, 12, 4, 5, 30, 40, 730629, tzinfo=dt.UTC)
    event = Event("push", target, REQUEST, SOURCE, "alice", id="e-1", timestamp=when)
    assert event_json(event) == {
        "id": "e-1",
        "timestamp": "2026-12-04T05:30:40.730629Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 411,
            "digest": DIGEST,
            "length": 411,
            "repository": "team/app",
            "url": f"http://registry:5000/v2/team/app/manifests/{DIGEST}",
            "tag": "v1",
            "references": [
                {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "size": 37,
                    "digest": DIGEST,
                }
            ],
        },
        "request": {
            "id": "req-1",
            "addr": "127.0.0.1:40000",
            "host": "registry:5000",
            "method": "PUT",
            "useragent": "skopeo/1.13",
        },
        "actor": {"name": "alice"},
        "source": {"addr": "host:5000", "instanceID": SOURCE.instance_id},
    }


def test_empty_fields_are_left_out_but_actor_and_request_basics_stay() -> None:
    request = RequestRecord("req-2", "", "", "DELETE", "")
    event = Event("delete", Target(repository="team/app", tag="v1"), request, SOURCE, id="e-2")
    doc = event_json(event)
    assert doc["target"] == {"repository": "team/app", "tag": "v1"}
    assert doc["request"] == {"id": "req-2", "method": "DELETE", "useragent": ""}
    assert doc["actor"] == {}
    assert "timestamp" not in doc


def test_envelope_and_fresh_ids() -> None:
    one = new_event("pull", Target(repository="a"), REQUEST, SOURCE)
    two = new_event("pull", Target(repository="a"), REQUEST, SOURCE)
    assert one.id != two.id
    assert one.timestamp is not None and one.timestamp.tzinfo is not None
    body = json.loads(envelope(one, two))
    assert [e["id"] for e in body["events"]] == [one.id, two.id]
