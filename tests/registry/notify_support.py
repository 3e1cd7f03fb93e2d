"""A real webhook receiver for the notification tests, and configs that point at it.

The receiver is an aiohttp application served on loopback (pytest-aiohttp's ``aiohttp_server``),
so the registry's deliveries cross a real TCP connection. It records every attempt and every
accepted envelope, can refuse the first N deliveries with 500, and can hold deliveries at a gate
until the test opens it (a stuck endpoint).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from registry.config import Config
from registry.config_notifications import EndpointConfig, NotificationsConfig
from tests.registry.api_support import registry_config


@dataclass
class Delivery:
    """One POST the receiver accepted."""

    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def event(self) -> dict[str, Any]:
        """The envelope's only event (the registry sends one per POST, as Distribution)."""
        events = self.body["events"]
        assert isinstance(events, list) and len(events) == 1
        event: dict[str, Any] = events[0]
        return event


@dataclass
class Receiver:
    """What the receiving endpoint saw, and how it behaves."""

    fail_first: int = 0
    attempts: int = 0
    accepted: list[Delivery] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def __post_init__(self) -> None:
        self.gate.set()

    def app(self) -> web.Application:
        """The receiving application: POST /events."""

        async def receive(request: web.Request) -> web.Response:
            self.attempts += 1
            body = await request.read()
            if self.attempts <= self.fail_first:
                return web.Response(status=500)
            await self.gate.wait()
            self.accepted.append(Delivery(dict(request.headers), json.loads(body)))
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/events", receive)
        return app

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every accepted event, in arrival order."""
        return [d.event for d in self.accepted]

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until ``count`` events were accepted; return them."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.accepted)} of {count} events arrived: {summary(self.events)}"
            )
            await asyncio.sleep(0.02)
        return self.events

    async def wait_for_attempts(self, count: int, timeout: float = 20.0) -> None:
        """Wait until ``count`` POSTs arrived, accepted or not (a gated one counts)."""
        deadline = time.monotonic() + timeout
        while self.attempts < count:
            assert time.monotonic() < deadline, f"{self.attempts} of {count} POSTs arrived"
            await asyncio.sleep(0.02)


async def start_receiver(aiohttp_server: Any, **behaviour: Any) -> Receiver:
    """A receiver served on an ephemeral loopback port."""
    receiver = Receiver(**behaviour)
    server = await aiohttp_server(receiver.app())
    receiver.url = str(server.make_url("/events"))
    return receiver


def summary(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(action, method, mediaType, repository, tag, digest) of each event, to compare orders."""
    return [
        (
            e["action"],
            e["request"]["method"],
            e["target"].get("mediaType"),
            e["target"].get("repository"),
            e["target"].get("tag"),
            e["target"].get("digest"),
        )
        for e in events
    ]


def notifying_config(
    root: Path, *endpoints: EndpointConfig, include_references: bool = False, **http: Any
) -> Config:
    """The test registry config with these endpoints (and http settings, e.g. metrics)."""
    base = registry_config(root)
    return replace(
        base,
        http=replace(base.http, **http),
        notifications=NotificationsConfig(
            include_references=include_references, endpoints=endpoints
        ),
    )


def endpoint(url: str, name: str = "recv", **settings: Any) -> EndpointConfig:
    """An endpoint with quick retries unless the test says otherwise."""
    settings.setdefault("backoff", 0.05)
    return EndpointConfig(name=name, url=url, **settings)
