"""The registry's Prometheus metrics, under the names Distribution exposes.

Distribution (with ``http.debug.prometheus.enabled``) instruments every route with docker's
go-metrics HTTP handler under the ``registry_http`` namespace, and times every storage driver
call as ``registry_storage_action_seconds{driver,action}``. The same names, label names and
handler names are used here, so dashboards and alerts written for Distribution work unchanged.
Metrics exist only when prometheus is enabled: a registry without them pays nothing.

Webhook notifications are counted under Distribution's ``registry_notifications`` names
(notifications/metrics.go, go-metrics appending ``_total``): ``events_total{type,endpoint}``
with the types ``Events`` (queued), ``Successes``, ``Failures`` (an answer other than 2xx/3xx)
and ``Errors`` (no answer), ``pending_total{endpoint}`` (a gauge, queued or in flight) and
``status_total{code,endpoint}``. Distribution's queue is unbounded; ours is not, and
``registry_notifications_dropped_total{endpoint}`` counts the events it lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from svckit import prom

# Distribution's route names (registry/api/v2/routes.go), which go-metrics uses as the
# handler label, for ours.
HANDLERS = {
    "base": "base",
    "catalog": "catalog",
    "tags": "tags",
    "manifest": "manifest",
    "manifest_put": "manifest",
    "manifest_delete": "manifest",
    "blob": "blob",
    "blob_delete": "blob",
    "uploads": "blob_upload",
    "upload": "blob_upload_chunk",
    "upload_patch": "blob_upload_chunk",
    "upload_put": "blob_upload_chunk",
    "upload_delete": "blob_upload_chunk",
    "referrers": "referrers",
}
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_SIZE_BUCKETS = (1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20, 16 << 20, 64 << 20)


def _handler(request: web.Request) -> str:
    """Distribution's name of the route that matched (``unmatched`` for none)."""
    return HANDLERS.get(request.match_info.route.name or "", "unmatched")


class RegistryMetrics:
    """One registry's metrics, in their own Prometheus registry."""

    def __init__(self) -> None:
        """Make the metrics (in files shared by the workers when there are several)."""
        self.registry: CollectorRegistry = prom.new_registry()
        r = self.registry
        self.requests = Counter(
            "registry_http_requests",
            "Total number of HTTP requests made.",
            ["code", "handler", "method"],
            registry=r,
        )
        self.duration = Histogram(
            "registry_http_request_duration_seconds",
            "The HTTP request latencies in seconds.",
            ["handler", "method"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.request_size = Histogram(
            "registry_http_request_size_bytes",
            "The HTTP request sizes in bytes.",
            ["handler"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.response_size = Histogram(
            "registry_http_response_size_bytes",
            "The HTTP response sizes in bytes.",
            ["handler"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "registry_http_in_flight_requests",
            "The in-flight HTTP requests.",
            ["handler"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.storage_action = Histogram(
            "registry_storage_action_seconds",
            "The number of seconds that the storage action takes.",
            ["driver", "action"],
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        self.notifications = NotificationMetrics(r)

    def observe_storage(self, driver: str, action: str, seconds: float) -> None:
        """Record one storage driver call (``InstrumentedDriver``'s observer)."""
        prom.child(self.storage_action, driver, action).observe(seconds)

    def middleware(self) -> Middleware:
        """The middleware that counts and times every request (the outermost but one)."""

        def start(request: web.Request) -> None:
            prom.child(self.in_flight, _handler(request)).inc()

        def done(request: web.Request, status: int, seconds: float) -> None:
            name = _handler(request)
            prom.child(self.in_flight, name).dec()
            prom.child(self.duration, name, request.method).observe(seconds)
            prom.child(self.requests, str(status), name, request.method).inc()
            prom.child(self.request_size, name).observe(request.content_length or 0)

        return prom.timing_middleware(done, start)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """on_response_prepare: the response's size, known only now (files are sent later)."""
        prom.child(self.response_size, _handler(request)).observe(response.content_length or 0)

    async def serve(self, host: str, port: int, path: str) -> AsyncIterator[None]:
        """Serve the metrics on Distribution's debug address for the app's lifetime."""
        async for _ in prom.serve_metrics(host, port, path, self.registry):
            yield


class NotificationMetrics:
    """The notification endpoints' counters (a DeliveryObserver, registry/notifications)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Make the metrics in ``registry``."""
        self.events = Counter(
            "registry_notifications_events",
            "The number of total events",
            ["type", "endpoint"],
            registry=registry,
        )
        self.pending = Gauge(
            "registry_notifications_pending_total",
            "The gauge of pending events in queue",
            ["endpoint"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.status = Counter(
            "registry_notifications_status",
            "The number of status code",
            ["code", "endpoint"],
            registry=registry,
        )
        self.dropped_events = Counter(
            "registry_notifications_dropped",
            "Events dropped because the endpoint's queue was full or the registry stopped",
            ["endpoint"],
            registry=registry,
        )

    def queued(self, endpoint: str) -> None:
        """An event entered the endpoint's queue."""
        prom.child(self.events, "Events", endpoint).inc()
        prom.child(self.pending, endpoint).inc()

    def done(self, endpoint: str) -> None:
        """An event was delivered or dropped."""
        prom.child(self.pending, endpoint).dec()

    def delivered(self, endpoint: str, status: str) -> None:
        """The endpoint accepted an event."""
        prom.child(self.status, status, endpoint).inc()
        prom.child(self.events, "Successes", endpoint).inc()

    def refused(self, endpoint: str, status: str) -> None:
        """The endpoint answered with a failing status."""
        prom.child(self.status, status, endpoint).inc()
        prom.child(self.events, "Failures", endpoint).inc()

    def errored(self, endpoint: str) -> None:
        """No answer: a connection error or a timeout."""
        prom.child(self.events, "Errors", endpoint).inc()

    def dropped(self, endpoint: str, count: int) -> None:
        """Events were discarded."""
        prom.child(self.dropped_events, endpoint).inc(count)
