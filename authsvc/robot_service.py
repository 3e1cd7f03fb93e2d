"""Robot accounts: accounts with no password and no person behind them, for CI and deploy hosts.

A robot is a user row named ``robot$NAME`` (Harbor's convention) marked ``robot``, whose only
credential is a personal access token it owns: it logs in as ``robot$NAME`` with that secret,
the token's scopes cap whatever ACL rules give it (``--account 'robot$*'`` names them all), and
everything that works on users (disable, delete, ``acl check``) works on robots. Rotating the
secret makes a new token and lets the old one live on for an optional overlap, so a fleet can
switch without a failed pull. One service for the CLI and, later, the admin API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.caps import parse_caps
from authsvc.models import utcnow
from authsvc.names import normalize_username
from authsvc.pat_service import PatService, check_token_name, pat_to_dict
from svckit.settings import SettingError, parse_duration

SOURCE = "robot"
PREFIX = "robot$"
DEFAULT_DESCRIPTION = "robot secret"


def robot_user_name(name: str) -> str:
    """``robot$NAME`` for ``NAME`` or ``robot$NAME`` (ValueError for an invalid name)."""
    bare = name[len(PREFIX) :] if name.startswith(PREFIX) else name
    if not bare or "$" in bare:
        raise ValueError(f"invalid robot name {name!r}")
    return normalize_username(PREFIX + bare)


@dataclass(frozen=True, slots=True)
class RobotRecord:
    """A robot and its secrets (tokens), newest last."""

    user: store.UserRecord
    secrets: tuple[store.PatRecord, ...]


def robot_to_dict(robot: RobotRecord, now: dt.datetime) -> dict[str, object]:
    """JSON-ready data for a robot and its secrets (never the secrets themselves)."""
    return {
        "name": robot.user.name,
        "disabled": robot.user.disabled,
        "created_at": robot.user.created_at.isoformat(),
        "token_ttl": robot.user.token_ttl,
        "secrets": [pat_to_dict(p, now) for p in robot.secrets],
    }


def parse_overlap(value: str, what: str) -> dt.timedelta:
    """How long older secrets keep working after a rotation (``0``, ``1h``); ValueError."""
    try:
        return dt.timedelta(seconds=parse_duration(value, what, allow_zero=True))
    except SettingError as exc:
        raise ValueError(str(exc)) from None


class RobotService:
    """Create, list, disable, delete robots and rotate their secrets."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], pats: PatService) -> None:
        """Robots' rows live in the store; their secrets are ``pats``' tokens."""
        self._sessionmaker = sessionmaker
        self._pats = pats

    async def add(
        self,
        name: str,
        *,
        scopes: Sequence[str],
        expires_in: dt.timedelta | None,
        description: str | None = None,
        token_ttl: int | None = None,
    ) -> tuple[RobotRecord, str]:
        """Create ``robot$NAME`` with a secret capped by ``scopes``; return it and the secret.

        ``token_ttl`` is the lifetime of its access tokens (None: the server's setting).
        """
        user_name = robot_user_name(name)
        label = check_token_name(description or DEFAULT_DESCRIPTION)
        caps = parse_caps(scopes)
        # One transaction: a robot without its secret (or the reverse) never exists.
        async with store.transaction(self._sessionmaker) as session:
            if await store.get_user(session, user_name) is not None:
                raise store.Conflict(f"user {user_name!r} already exists")
            user = await store.insert_user(
                session,
                user_name,
                store.UNUSABLE_PASSWORD,
                admin=False,
                source=SOURCE,
                token_ttl=token_ttl,
            )
            _, secret = await self._pats.create_in(session, user.id, label, caps, expires_in)
        return await self.get(user_name), secret

    async def get(self, name: str) -> RobotRecord:
        """One robot (NotFound if there is no such robot, or no robot can have the name)."""
        try:
            user_name = robot_user_name(name)
        except ValueError:
            raise store.NotFound(f"unknown robot {name!r}") from None
        async with store.transaction(self._sessionmaker, commit=False) as session:
            user = await store.get_user(session, user_name)
            if user is None or user.source != SOURCE:
                raise store.NotFound(f"unknown robot {user_name!r}")
            secrets = await store.list_pats(session, user.id)
        return RobotRecord(user, tuple(secrets))

    async def list(
        self, *, after: str | None = None, limit: int | None = None
    ) -> list[RobotRecord]:
        """Every robot by name, or a page of ``limit`` after the user name ``after``."""
        async with store.transaction(self._sessionmaker, commit=False) as session:
            users = await store.list_users_of_source(session, SOURCE, after=after, limit=limit)
            return [
                RobotRecord(user, tuple(await store.list_pats(session, user.id))) for user in users
            ]

    async def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable a robot (its secrets stop or start working within a second)."""
        robot = await self.get(name)
        async with store.transaction(self._sessionmaker) as session:
            await store.set_disabled(session, robot.user.name, disabled)

    async def set_token_ttl(self, name: str, token_ttl: int | None) -> None:
        """Set a robot's access-token lifetime (None: the server's setting)."""
        robot = await self.get(name)
        async with store.transaction(self._sessionmaker) as session:
            await store.set_token_ttl(session, robot.user.name, token_ttl)

    async def delete(self, name: str) -> None:
        """Delete a robot and its secrets."""
        robot = await self.get(name)
        async with store.transaction(self._sessionmaker) as session:
            await store.delete_user(session, robot.user.name)

    async def rotate(self, name: str, *, overlap: dt.timedelta) -> tuple[RobotRecord, str]:
        """A new secret with the newest one's scopes and lifetime; older ones end after overlap."""
        robot = await self.get(name)
        live = [p for p in robot.secrets if self._pats.is_active(p)]
        if not live:
            raise store.NotFound(f"robot {robot.user.name!r} has no active secret to rotate")
        newest = live[-1]
        lifetime = newest.expires_at - newest.created_at if newest.expires_at is not None else None
        end = utcnow() + overlap
        async with store.transaction(self._sessionmaker) as session:
            _, secret = await self._pats.create_in(
                session, robot.user.id, newest.name, parse_caps([newest.scopes]), lifetime
            )
            for old in live:
                if old.expires_at is None or old.expires_at > end:
                    await store.expire_pat(session, old.id, end)
        return await self.get(name), secret
