"""Every piece of typed application state (``web.AppKey``) that authsvc keeps, in one place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from authsvc.authn import Authenticator
from authsvc.config import Config
from authsvc.issue import AclCache, TokenIssuer
from authsvc.refresh import RefreshTokens
from authsvc.tokens import TokenSigner

CONFIG = web.AppKey("config", Config)
SIGNER = web.AppKey("signer", TokenSigner)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
VERIFY_POOL = web.AppKey("verify_pool", ThreadPoolExecutor)
REFRESH_TOKENS = web.AppKey("refresh_tokens", RefreshTokens)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
ACL_CACHE = web.AppKey("acl_cache", AclCache)
ISSUER = web.AppKey("issuer", TokenIssuer)
