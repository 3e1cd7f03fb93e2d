"""Helpers of the API tests: tokens for the seeded users and an administrator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from authsvc import store
from authsvc.appkeys import AUDIT, SERVICES
from tests.authsvc.token_endpoint.helpers import Env

ROOT = "root"
ADMIN_SCOPES = ("api:admin:*",)


async def token(env: Env, owner: str, *scopes: str) -> tuple[int, str]:
    """A PAT for ``owner`` with ``scopes``: its id and secret."""
    record, secret = await env.app[SERVICES].pats.create(
        owner, name="api", scopes=list(scopes), expires_in=dt.timedelta(days=1)
    )
    return record.id, secret


def bearer(secret: str) -> dict[str, str]:
    """``Authorization: Bearer`` with a PAT."""
    return {"Authorization": f"Bearer {secret}"}


async def admin_headers(env: Env, *scopes: str) -> dict[str, str]:
    """Headers of an administrator's token (``root``, created on first use)."""
    async with store.transaction(env.seed.sessionmaker) as session:
        if await store.get_user(session, ROOT) is None:
            await store.create_user(session, ROOT, env.seed.hasher.hash("root-pw"), admin=True)
    _, secret = await token(env, ROOT, *(scopes or ADMIN_SCOPES))
    return bearer(secret)


async def admin_rows(env: Env) -> list[store.AuditRecord]:
    """The ``admin`` audit rows written so far (the writer flushed first)."""
    await env.app[AUDIT].flush()
    async with store.transaction(env.seed.sessionmaker, commit=False) as session:
        rows = await store.list_audit_events(session, event="admin")
    return list(rows)


async def call(env: Env, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    """One request; returns (status, JSON body or None)."""
    resp = await env.client.request(method, path, headers=headers, **kw)
    body = await resp.json() if resp.content_type == "application/json" else None
    return resp.status, body
