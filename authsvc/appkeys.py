"""Every piece of typed application state (``web.AppKey``) that authsvc keeps, in one place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.access_tokens import AccessTokenIssuer
from authsvc.audit import AuditWriter
from authsvc.authn.throttle import LoginThrottle
from authsvc.authz import AccessDecider
from authsvc.config import Config
from authsvc.db import DatabaseFileWatch
from authsvc.jwt_signer import JwtSigner
from authsvc.netaddr import IPNetwork
from authsvc.refresh_tokens import RefreshTokenService
from authsvc.services import Services
from authsvc.web.oidc import OidcClient
from authsvc.web.sessions import WebSessions

CONFIG = web.AppKey("config", Config)
SIGNER = web.AppKey("signer", JwtSigner)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
VERIFY_POOL = web.AppKey("verify_pool", ThreadPoolExecutor)
# The audit trail's batch writer (a no-op writer when the audit is off).
AUDIT = web.AppKey("audit", AuditWriter)
# Networks whose X-Forwarded-For is believed (authsvc.netaddr).
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[IPNetwork, ...])
# The wired service objects (with their caches), and direct keys for what handlers call.
SERVICES = web.AppKey("services", Services)
AUTHENTICATORS = web.AppKey("authenticators", LoginThrottle)
REFRESH_TOKENS = web.AppKey("refresh_tokens", RefreshTokenService)
ACCESS = web.AppKey("access", AccessDecider)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokenIssuer)
# Threads for blocking LDAP binds (python-ldap), apart from the password threads.
LDAP_POOL = web.AppKey("ldap_pool", ThreadPoolExecutor)
# The account page: sign-ins and sessions, and the OpenID provider client when one is configured.
WEB_SESSIONS = web.AppKey("web_sessions", WebSessions)
OIDC = web.AppKey("oidc", OidcClient)
# The JWK Set of the active and published signing keys (GET /.well-known/jwks.json).
JWKS = web.AppKey("jwks", dict[str, Any])
# The SQLite database file as the app started with it: /readyz notices it moved or replaced.
DATABASE_FILE = web.AppKey("database_file", DatabaseFileWatch)
