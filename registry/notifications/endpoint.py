"""One webhook endpoint: a bounded queue and one task that delivers its events in order.

Distribution layers an endpoint as filter → unbounded queue → retrying sink → HTTP sink
(notifications/endpoint.go, sinks.go, http.go); this follows it with one difference, the bound:

- ``offer`` never blocks and never awaits. Events whose action or target media type the endpoint
  ignores are discarded before they are counted, as Distribution's ignoredSink does.
- At most ``queuesizelimit`` events wait. When a new event finds the queue full, the **oldest**
  waiting event is dropped and counted (``registry_notifications_dropped_total``): after an
  outage the endpoint hears about the registry's latest changes rather than its stalest ones.
  The event being delivered is not in the queue and is never dropped.
- One event per POST, in the order offered. A 2xx or 3xx answer is success; any other status,
  a connection error or the per-endpoint ``timeout`` is a failure, and the same event is sent
  again, forever, as Distribution's retryingSink does: the first ``threshold`` consecutive
  failures are retried at once, later ones ``backoff`` after the previous failure.
- ``close`` lets the task deliver what is queued for at most ``queuepurgetimeout``, then stops
  it; events still waiting are counted as dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from http import HTTPStatus
from typing import Protocol

import aiohttp
from multidict import CIMultiDict

from registry.config_notifications import EndpointConfig
from registry.notifications.events import EVENTS_MEDIA_TYPE, Event, envelope
from svckit.httpserver import RateLimitedLog

log = logging.getLogger(__name__)

# At most one warning per this many seconds for each endpoint's failures and drops.
WARN_INTERVAL = 60.0


class DeliveryObserver(Protocol):
    """Receives what happens to an endpoint's events (the Prometheus metrics implement it)."""

    def queued(self, endpoint: str) -> None:
        """An event entered the queue."""

    def done(self, endpoint: str) -> None:
        """An event left the queue and flight: delivered or dropped."""

    def delivered(self, endpoint: str, status: str) -> None:
        """A POST was accepted with this status ("200 OK")."""

    def refused(self, endpoint: str, status: str) -> None:
        """A POST was answered with a failing status."""

    def errored(self, endpoint: str) -> None:
        """A POST failed without an answer (connection error or timeout)."""

    def dropped(self, endpoint: str, count: int) -> None:
        """Events were discarded: the queue was full, or shutdown left them undelivered."""


class NoObserver:
    """Observes nothing (prometheus is off)."""

    def queued(self, endpoint: str) -> None:
        """Ignore."""

    def done(self, endpoint: str) -> None:
        """Ignore."""

    def delivered(self, endpoint: str, status: str) -> None:
        """Ignore."""

    def refused(self, endpoint: str, status: str) -> None:
        """Ignore."""

    def errored(self, endpoint: str) -> None:
        """Ignore."""

    def dropped(self, endpoint: str, count: int) -> None:
        """Ignore."""


def status_text(status: int) -> str:
    """``"200 OK"``: the status label Distribution's metrics use (Go's http.StatusText)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class Endpoint:
    """Queue and deliver events to one configured URL."""

    def __init__(
        self,
        config: EndpointConfig,
        session: aiohttp.ClientSession,
        observer: DeliveryObserver | None = None,
    ) -> None:
        """Prepare the queue; ``start`` begins delivery."""
        self.config = config
        self._session = session
        self._observer = observer or NoObserver()
        self._queue: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: Event | None = None
        self._closed = False
        # Configured headers are added to ours, as Distribution's headerRoundTripper does.
        self._headers = CIMultiDict({"Content-Type": EVENTS_MEDIA_TYPE})
        for name, value in config.headers:
            self._headers.add(name, value)
        self._timeout = aiohttp.ClientTimeout(total=config.timeout)
        self._failures = 0
        self._last_failure = 0.0
        self._warn = RateLimitedLog(WARN_INTERVAL, log)
        self._warn_drop = RateLimitedLog(WARN_INTERVAL, log)
        self.dropped = 0
        self.delivered = 0

    @property
    def name(self) -> str:
        """The endpoint's configured name (its metrics label)."""
        return self.config.name

    @property
    def pending(self) -> int:
        """Events queued or in flight."""
        return len(self._queue) + (self._in_flight is not None)

    def wants(self, event: Event) -> bool:
        """False for events this endpoint ignores (by action or target media type)."""
        cfg = self.config
        media_type = event.target.media_type
        ignored_type = media_type is not None and media_type in cfg.ignored_media_types
        return not ignored_type and event.action not in cfg.ignored_actions

    def offer(self, event: Event) -> None:
        """Queue the event without waiting; a full queue loses its oldest event instead."""
        if not self.wants(event):
            return
        if self._closed:
            self._observer.queued(self.name)
            self._drop("event after shutdown")
            return
        if len(self._queue) >= self.config.queue_size:
            self._queue.popleft()
            self._drop("queue full")
        self._queue.append(event)
        self._observer.queued(self.name)
        self._idle.clear()
        self._wakeup.set()

    def _drop(self, why: str) -> None:
        """Count one event lost (the queue's oldest, or one offered after shutdown)."""
        self.dropped += 1
        self._observer.dropped(self.name, 1)
        self._observer.done(self.name)
        self._warn_drop.warning(
            "notifications endpoint %s: %s, %d events dropped so far", self.name, why, self.dropped
        )

    def start(self) -> None:
        """Start the delivery task."""
        self._task = asyncio.create_task(self._run(), name=f"notify-{self.name}")

    async def close(self) -> None:
        """Deliver what is queued for at most ``queuepurgetimeout``; drop the rest."""
        self._closed = True
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.config.purge_timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        left = self.pending
        if left:
            self._queue.clear()
            self._in_flight = None
            self._idle.set()
            self.dropped += left
            self._observer.dropped(self.name, left)
            for _ in range(left):
                self._observer.done(self.name)
            # Not rate-limited: this is the endpoint's last word.
            log.warning(
                "notifications endpoint %s: stopped with %d events undelivered (dropped)",
                self.name,
                left,
            )

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            self._in_flight = event = self._queue.popleft()
            await self._deliver(event)
            self._in_flight = None
            self.delivered += 1
            self._observer.done(self.name)

    async def _deliver(self, event: Event) -> None:
        """Send one event until the endpoint accepts it (Distribution's retryingSink)."""
        body = envelope(event)
        while True:
            if self._failures >= self.config.threshold:
                # Past the threshold: wait out the backoff since the last failure.
                delay = self._last_failure + self.config.backoff - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if await self._post(body):
                self._failures = 0
                return
            self._failures += 1
            self._last_failure = time.monotonic()

    async def _post(self, body: bytes) -> bool:
        """One attempt; True if the endpoint accepted the event."""
        try:
            async with self._session.post(
                self.config.url,
                data=body,
                headers=self._headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
        except Exception as exc:  # any failure is retried: the delivery task must live on
            self._observer.errored(self.name)
            # InvalidURL's text is the URL, which may carry credentials: name the type only.
            secret = isinstance(exc, aiohttp.InvalidURL) or not str(exc)
            detail = type(exc).__name__ if secret else str(exc)
            self._warn.warning(
                "notifications endpoint %s: delivery failed (%s), retrying", self.name, detail
            )
            return False
        if 200 <= status < 400:
            self._observer.delivered(self.name, status_text(status))
            return True
        self._observer.refused(self.name, status_text(status))
        self._warn.warning("notifications endpoint %s: answered %d, retrying", self.name, status)
        return False
