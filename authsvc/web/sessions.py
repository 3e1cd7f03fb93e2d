"""Browser sessions of the account page, kept in the database so any replica can serve them.

The cookie carries a random secret; the database keeps only its SHA-256, so a copy of the
database gives no usable session. A session is short (``web.session_ttl``) and fixed: it is not
extended by use. A sign-in in progress is a row without a user, holding the OAuth ``state``,
the OIDC ``nonce`` and the PKCE verifier; the callback takes (deletes) it, so it works once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.models import utcnow
from authsvc.web.oidc import PendingSignIn

SESSION_COOKIE = "authsvc_session"
SIGNIN_COOKIE = "authsvc_signin"
# A person has this long between leaving for the provider and coming back.
SIGNIN_TTL = 600


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class WebSessions:
    """Creates, finds and ends sessions and sign-ins in progress."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: int) -> None:
        """Sessions last ``ttl`` seconds."""
        self._sessionmaker = sessionmaker
        self._ttl = ttl

    async def begin_signin(self, pending: PendingSignIn) -> str:
        """Remember a sign-in in progress; return the secret for the sign-in cookie."""
        secret = secrets.token_urlsafe(32)
        async with store.transaction(self._sessionmaker) as session:
            # Each sign-in start also sweeps expired rows, so abandoned ones do not pile up.
            await store.purge_expired_web_sessions(session)
            await store.create_web_session(
                session,
                _hash(secret),
                user_id=None,
                csrf=secrets.token_urlsafe(32),
                pending=json.dumps(pending.as_dict()),
                expires_at=utcnow() + dt.timedelta(seconds=SIGNIN_TTL),
            )
        return secret

    async def take_signin(self, secret: str) -> PendingSignIn | None:
        """The sign-in in progress under ``secret``, removed so that it cannot be replayed."""
        if not secret:
            return None
        async with store.transaction(self._sessionmaker) as session:
            record = await store.take_web_session(session, _hash(secret))
        if record is None or record.user_id is not None or record.pending is None:
            return None
        return PendingSignIn(**json.loads(record.pending))

    async def start(self, user_id: int) -> str:
        """A new session for ``user_id``; return the secret for the session cookie."""
        secret = secrets.token_urlsafe(32)
        async with store.transaction(self._sessionmaker) as session:
            await store.create_web_session(
                session,
                _hash(secret),
                user_id=user_id,
                csrf=secrets.token_urlsafe(32),
                pending=None,
                expires_at=utcnow() + dt.timedelta(seconds=self._ttl),
            )
        return secret

    async def find(self, secret: str) -> store.WebSessionRecord | None:
        """The live, signed-in session under ``secret``, if any."""
        if not secret:
            return None
        async with store.transaction(self._sessionmaker, commit=False) as session:
            record = await store.get_web_session(session, _hash(secret))
        return record if record is not None and record.user_id is not None else None

    async def end(self, secret: str) -> None:
        """Sign out: forget the session."""
        async with store.transaction(self._sessionmaker) as session:
            await store.delete_web_session(session, _hash(secret))
