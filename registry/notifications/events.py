"""Registry events in Distribution's JSON envelope (notifications/event.go, docs/notifications.md).

An endpoint receives ``POST`` requests of type
``application/vnd.docker.distribution.events.v1+json`` whose body is ``{"events": [...]}``.
Each event has an ``id``, a ``timestamp``, an ``action`` (push, pull, mount, delete), a
``target`` (the descriptor plus ``length``, ``repository``, ``url``, ``tag``,
``fromRepository`` and, with ``events.includereferences``, ``references``), the ``request``
that caused it, the ``actor`` (the token's subject) and the ``source`` (this registry
instance). Empty fields are left out, as Go's ``omitempty`` does, except the request's ``id``,
``method`` and ``useragent``, which Distribution always writes. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

# Distribution 2.8's EventsMediaType; 3.x renamed it v2 without changing the fields used here.
EVENTS_MEDIA_TYPE = "application/vnd.docker.distribution.events.v1+json"
# The media type Distribution reports for every blob (it does not know the layer type).
BLOB_MEDIA_TYPE = "application/octet-stream"

PUSH, PULL, MOUNT, DELETE = "push", "pull", "mount", "delete"


@dataclass(frozen=True, slots=True)
class Reference:
    """A descriptor a manifest points at (``target.references``)."""

    media_type: str
    size: int
    digest: str


@dataclass(frozen=True, slots=True)
class Target:
    """What the event is about; a delete carries only the repository and a digest or a tag."""

    repository: str
    media_type: str | None = None
    size: int | None = None
    digest: str | None = None
    url: str | None = None
    tag: str | None = None
    from_repository: str | None = None
    references: tuple[Reference, ...] | None = None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """The HTTP request that caused the event."""

    id: str
    addr: str
    host: str
    method: str
    useragent: str


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """The registry instance that made the event (host:port, and an id per process start)."""

    addr: str
    instance_id: str


@dataclass(frozen=True, slots=True)
class Event:
    """One registry event; ``actor`` is the token's subject (empty without auth)."""

    action: str
    target: Target
    request: RequestRecord
    source: SourceRecord
    actor: str = ""
    id: str = ""
    timestamp: dt.datetime | None = None


def new_event(
    action: str,
    target: Target,
    request: RequestRecord,
    source: SourceRecord,
    actor: str = "",
    *,
    now: dt.datetime | None = None,
) -> Event:
    """An event with a fresh id (a UUID, as Distribution's) and the current time."""
    return Event(
        action=action,
        target=target,
        request=request,
        source=source,
        actor=actor,
        id=str(uuid.uuid4()),
        timestamp=now or dt.datetime.now(dt.UTC),
    )


def _timestamp(value: dt.datetime | None) -> str | None:
    # Go's time.Time marshals as RFC 3339 with fractional seconds; UTC is written "Z".
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _compact(fields: dict[str, object]) -> dict[str, object]:
    """Drop empty values, as Go's ``omitempty`` does."""
    return {k: v for k, v in fields.items() if v not in (None, "", 0, [], {})}


def _target(target: Target) -> dict[str, object]:
    references = None
    if target.references:
        references = [
            {"mediaType": r.media_type, "size": r.size, "digest": r.digest}
            for r in target.references
        ]
    return _compact(
        {
            "mediaType": target.media_type,
            "size": target.size,
            "digest": target.digest,
            # "length" repeats "size" for older consumers (event.go: backwards compatibility).
            "length": target.size,
            "repository": target.repository,
            "fromRepository": target.from_repository,
            "url": target.url,
            "tag": target.tag,
            "references": references,
        }
    )


def event_json(event: Event) -> dict[str, object]:
    """The event as Distribution writes it, field names and omissions included."""
    request = event.request
    return _compact(
        {
            "id": event.id,
            "timestamp": _timestamp(event.timestamp),
            "action": event.action,
            "target": _target(event.target),
            "request": {
                "id": request.id,
                **_compact({"addr": request.addr, "host": request.host}),
                "method": request.method,
                "useragent": request.useragent,
            },
        }
    ) | {
        # Always present, possibly empty: Distribution writes "actor": {} without auth.
        "actor": _compact({"name": event.actor}),
        "source": _compact({"addr": event.source.addr, "instanceID": event.source.instance_id}),
    }


def envelope(*events: Event) -> bytes:
    """The request body for one or more events."""
    return json.dumps({"events": [event_json(e) for e in events]}).encode()
