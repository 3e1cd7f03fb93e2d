"""authsvc's Prometheus metrics.

The metrics are module-level objects, as the Prometheus client expects, in authsvc's own
registry (not the library's global one), so a test process running both services keeps their
names apart. They are made on first use rather than at import: see ``svckit.prom`` for why the
moment matters with worker processes.

Labels have bounded values only: the grant type, the configured service names (an unknown
service is counted as ""), error codes and route patterns, never user names or paths.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram

from svckit import prom

REGISTRY = CollectorRegistry(auto_describe=True)
METRICS_PATH = "/metrics"

# Declared here and made on first use (module __getattr__ below): the client picks its value
# storage (in memory, or files for worker processes) when a metric is made, and almost every
# CLI command imports this module long before ``serve`` knows how many workers it runs.
TOKENS_ISSUED: Counter
TOKENS_REFUSED: Counter
LOGIN_FAILURES: Counter
THROTTLED: Counter
PASSWORD_VERIFY_SECONDS: Histogram
CREDENTIAL_CACHE: Counter
DATABASE_ERRORS: Counter
HTTP_REQUEST_SECONDS: Histogram

_LOCK = threading.Lock()


def _make_metrics() -> None:
    """Make every metric once, in the storage the environment selects by now."""
    prom.select_value_storage()
    TOKENS_ISSUED = Counter(
        "authsvc_tokens_issued",
        "Access tokens issued, by grant (basic, anonymous, password, refresh_token, "
        "token_exchange) and service.",
        ["grant", "service"],
        registry=REGISTRY,
    )
    TOKENS_REFUSED = Counter(
        "authsvc_tokens_refused",
        "Token requests refused, by grant, service and error code.",
        ["grant", "service", "code"],
        registry=REGISTRY,
    )
    LOGIN_FAILURES = Counter(
        "authsvc_login_failures",
        "Logins refused for wrong or unknown credentials, by grant.",
        ["grant"],
        registry=REGISTRY,
    )
    THROTTLED = Counter(
        "authsvc_throttled_requests",
        "Requests refused with 429: a blocked account or address, or a full verification queue.",
        registry=REGISTRY,
    )
    PASSWORD_VERIFY_SECONDS = Histogram(
        "authsvc_password_verify_seconds",
        "Time to verify one password (argon2id in a worker thread, waiting included).",
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        registry=REGISTRY,
    )
    CREDENTIAL_CACHE = Counter(
        "authsvc_credential_cache_requests",
        "Lookups in the verified-credential cache, by result (hit or miss).",
        ["result"],
        registry=REGISTRY,
    )
    DATABASE_ERRORS = Counter(
        "authsvc_database_errors",
        "Requests answered 503 because the database was unavailable.",
        registry=REGISTRY,
    )
    HTTP_REQUEST_SECONDS = Histogram(
        "authsvc_http_request_duration_seconds",
        "HTTP request duration, by method, route pattern and status code.",
        ["method", "route", "code"],
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        registry=REGISTRY,
    )
    globals().update({name: value for name, value in locals().items() if name.isupper()})


def __getattr__(name: str) -> object:
    if name in __annotations__:
        if name not in globals():
            with _LOCK:
                if name not in globals():
                    _make_metrics()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _route(request: web.Request) -> str:
    # The route's pattern (``/account/tokens/{id}/revoke``), so ids never become label values;
    # requests that matched no route share one label.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _observe_request(request: web.Request, status: int, seconds: float) -> None:
    histogram = cast(Histogram, __getattr__("HTTP_REQUEST_SECONDS"))
    prom.child(histogram, request.method, _route(request), str(status)).observe(seconds)


# Times every request by method, route pattern and status.
http_metrics_middleware = prom.timing_middleware(_observe_request)


async def serve_metrics(host: str, port: int) -> AsyncIterator[None]:
    """Serve ``/metrics`` on ``host:port`` for the lifetime of the surrounding context."""
    async for _ in prom.serve_metrics(host, port, METRICS_PATH, REGISTRY):
        yield


def exposition() -> bytes:
    """The metrics in Prometheus' text format (every worker's, summed, with workers)."""
    return prom.exposition(REGISTRY)
