"""Typed application and request state keys (aiohttp `web.AppKey` / `web.RequestKey`)."""

from __future__ import annotations

from aiohttp import web

from registry.auth import Principal, TokenVerifier
from registry.config import Config
from registry.metrics import RegistryMetrics
from registry.notifications import Notifier
from registry.purger import UploadPurger
from registry.storage import Storage

CONFIG = web.AppKey("config", Config)
STORAGE = web.AppKey("storage", Storage)
# Set while the upload purger runs (not when it is disabled or the registry is read-only).
UPLOAD_PURGER = web.AppKey("upload_purger", UploadPurger)
# None when auth.token is not configured (every request is allowed).
VERIFIER: web.AppKey[TokenVerifier | None] = web.AppKey("verifier")
# Set by the auth step for every authorised request when auth is on.
PRINCIPAL = web.RequestKey("principal", Principal)
# The Prometheus metrics, present only with http.debug.prometheus.enabled.
METRICS = web.AppKey("metrics", RegistryMetrics)
# Present only when notifications.endpoints has an endpoint that is not disabled.
NOTIFIER = web.AppKey("notifier", Notifier)
