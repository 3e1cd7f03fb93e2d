"""The registry's notifier: every configured endpoint, fed by the handlers, run by the app."""

from __future__ import annotations

import asyncio
import socket
import uuid

import aiohttp

from registry.config_notifications import NotificationsConfig
from registry.notifications.endpoint import DeliveryObserver, Endpoint
from registry.notifications.events import Event, SourceRecord


class Notifier:
    """Fans each event out to the endpoints, which deliver on their own tasks."""

    def __init__(
        self, config: NotificationsConfig, port: int, observer: DeliveryObserver | None = None
    ) -> None:
        """Describe this instance as Distribution does: hostname:port and an id per start."""
        self.config = config
        self.source = SourceRecord(
            addr=f"{socket.gethostname()}:{port}", instance_id=str(uuid.uuid4())
        )
        self._observer = observer
        self._session: aiohttp.ClientSession | None = None
        self.endpoints: list[Endpoint] = []

    @property
    def include_references(self) -> bool:
        """Whether manifest events list the manifest's references."""
        return self.config.include_references

    def publish(self, event: Event) -> None:
        """Queue the event for every endpoint; never waits (called from request handlers)."""
        for endpoint in self.endpoints:
            endpoint.offer(event)

    async def start(self) -> None:
        """Open the HTTP client and start one delivery task per active endpoint."""
        # No cookies, no proxy settings from the environment: a webhook is a plain POST.
        self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        self.endpoints = [
            Endpoint(cfg, self._session, self._observer) for cfg in self.config.active
        ]
        for endpoint in self.endpoints:
            endpoint.start()

    async def close(self) -> None:
        """Drain every endpoint (each bounded by its queuepurgetimeout), then close the client."""
        await asyncio.gather(*(endpoint.close() for endpoint in self.endpoints))
        if self._session is not None:
            await self._session.close()
            self._session = None
