"""Who is looking at the account page, and what the page shows them.

A session stands for a user id; every request re-reads the user through the same lookup as
``authsvc acl check`` (``LocalAuthenticator.lookup``), so disabling or deleting the user ends
their page sessions at the next request, as it ends their refresh tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from authsvc import store
from authsvc.appkeys import CONFIG, SERVICES, SESSIONMAKER, WEB_SESSIONS
from authsvc.authn.types import Identity
from authsvc.caps import CapError
from authsvc.models import utcnow
from authsvc.web.guard import csrf_ok, same_origin
from authsvc.web.sessions import SESSION_COOKIE

STATIC = Path(__file__).parent / "static"
FORM_REFUSED = "This form did not come from your account page. Reload the page and try again."
# What the page offers; a token that never expires can only be made with the CLI.
EXPIRY_CHOICES = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("365d", "1 year"))
SOURCE_LABELS = {"local": "Password", "ldap": "Directory (LDAP)", "oidc": "Single sign-on"}


class PageError(Exception):
    """A request the page refuses; rendered as an error page with ``status``."""

    def __init__(self, status: int, title: str, message: str) -> None:
        """Refuse with ``status``, a short title and a sentence saying what to do."""
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of this request and their session's CSRF token."""

    user: store.UserRecord
    identity: Identity
    csrf: str


async def current_viewer(request: web.Request) -> Viewer | None:
    """The viewer of a live session whose user still exists and is enabled, else None."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    session = await request.app[WEB_SESSIONS].find(secret)
    if session is None or session.user_id is None:
        return None
    async with store.transaction(request.app[SESSIONMAKER], commit=False) as tx:
        user = await store.get_user_by_id(tx, session.user_id)
    if user is None:
        return None
    lookup = await request.app[SERVICES].local.lookup(user.name)
    if lookup.identity is None or lookup.refusal is not None:
        await request.app[WEB_SESSIONS].end(secret)
        return None
    return Viewer(user, lookup.identity, session.csrf)


async def checked_viewer(request: web.Request) -> Viewer | None:
    """The viewer of a form post that came from this origin with the session's CSRF token."""
    viewer = await current_viewer(request)
    if viewer is None:
        return None
    form = await request.post()
    if not same_origin(request) or not csrf_ok(viewer.csrf, form.get("csrf")):
        raise PageError(
            403,
            "Form refused",
            "This form did not come from your account page. Reload it and try again.",
        )
    return viewer


def _when(value: dt.datetime | None) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


async def page_context(request: web.Request, viewer: Viewer, **extra: Any) -> dict[str, Any]:
    """What account.html shows: the user, their groups and their credentials."""
    async with store.transaction(request.app[SESSIONMAKER], commit=False) as tx:
        tokens = await store.list_refresh_tokens(tx, viewer.user.name)
    now = utcnow()
    refresh_rows = [
        {
            "id": t.id,
            "client": t.client_id or "docker",
            "service": t.service,
            "created": _when(t.created_at),
            "last_used": _when(t.last_used_at),
            "expires": _when(t.expires_at),
            "active": not t.revoked and t.expires_at > now,
            "state": "revoked" if t.revoked else "expired",
        }
        for t in reversed(tokens)
    ]
    return {
        "title": "Your account",
        "user": viewer.user.name,
        "csrf": viewer.csrf,
        "source_label": SOURCE_LABELS.get(viewer.user.source, viewer.user.source),
        "groups": sorted(viewer.identity.groups),
        "refresh_tokens": refresh_rows,
        "registry": request.app[CONFIG].web.registry,
        "pats_enabled": True,
        "pats": await _pat_rows(request, viewer),
        "default_scope": f"repository:{viewer.user.name}/*:pull,push",
        "expiry_choices": EXPIRY_CHOICES,
        "created": None,
        "message": "",
        **extra,
    }


async def _pat_rows(request: web.Request, viewer: Viewer) -> list[dict[str, Any]]:
    service = request.app[SERVICES].pats
    records = await service.list(viewer.user.name)
    return [
        {
            "id": r.id,
            "name": r.name,
            "scopes": r.scopes,
            "created": _when(r.created_at),
            "expires": "never" if r.expires_at is None else _when(r.expires_at),
            "last_used": _when(r.last_used_at),
            "active": service.is_active(r),
            "state": "revoked" if r.revoked else "expired",
        }
        for r in reversed(records)
    ]


def login_command(registry: str, user: str, secret: str) -> str:
    """The ``docker login`` line the page offers: the secret on stdin, not in the arguments.

    The leading space keeps it out of the history of shells that ignore such lines (bash with
    HISTCONTROL=ignorespace, zsh with HIST_IGNORE_SPACE).
    """
    target = f" {registry}" if registry else ""
    return f" echo '{secret}' | docker login{target} --username {user} --password-stdin"


async def create_pat(request: web.Request, viewer: Viewer) -> dict[str, Any]:
    """Create a token from the form; the context shows it once, or says what is wrong."""
    form = await request.post()
    name, scope, expires = form.get("name"), form.get("scope"), form.get("expires")
    choices = dict(EXPIRY_CHOICES)
    if not isinstance(name, str) or not isinstance(scope, str) or expires not in choices:
        return await page_context(request, viewer, message="Fill in every field of the form.")
    assert isinstance(expires, str)
    try:
        record, secret = await request.app[SERVICES].pats.create(
            viewer.user.name,
            name=name,
            scopes=[scope],
            expires_in=dt.timedelta(days=int(expires.rstrip("d"))),
        )
    except (ValueError, CapError) as exc:
        return await page_context(request, viewer, message=str(exc))
    created = {
        "name": record.name,
        "scopes": record.scopes,
        "expires": _when(record.expires_at),
        "secret": secret,
        "command": login_command(request.app[CONFIG].web.registry, viewer.user.name, secret),
    }
    return await page_context(request, viewer, created=created)


async def revoke_own_pat(request: web.Request, viewer: Viewer, pat_id: int) -> None:
    """Revoke ``pat_id`` if it is the viewer's."""
    try:
        await request.app[SERVICES].pats.revoke(pat_id, owner_id=viewer.user.id)
    except store.NotFound:
        raise PageError(404, "Not found", "You have no such access token.") from None


async def revoke_own_refresh_token(request: web.Request, viewer: Viewer, token_id: int) -> None:
    """Revoke ``token_id`` if it is the viewer's; another user's id is answered as unknown."""
    async with store.transaction(request.app[SESSIONMAKER]) as tx:
        own = {t.id for t in await store.list_refresh_tokens(tx, viewer.user.name)}
        if token_id not in own:
            raise PageError(404, "Not found", "You have no such refresh token.")
        # The token service revalidates within a second, so no cache needs dropping here.
        await store.revoke_refresh_token(tx, token_id)
