"""Users that an external directory (LDAP) vouches for: their rows and their directory groups.

A directory user gets a row at their first successful login, so that ACLs, refresh tokens and
``user disable`` work for it as for a local user. The row's password hash is an unusable marker
(``UNUSABLE_PASSWORD``, which no argon2 or bcrypt verifier accepts), and the local authenticator
also refuses any row whose ``source`` is not ``local``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import DirectoryGroup, User, utcnow
from authsvc.store.common import USER_COLUMNS, UserRecord, user_record
from authsvc.store.users import insert_user

# As in /etc/shadow, a leading "!" marks "no password": it is no hash any verifier accepts.
UNUSABLE_PASSWORD = "!directory"


async def ensure_directory_user(session: AsyncSession, name: str, source: str) -> UserRecord:
    """The row of ``name``, created with ``source`` and no usable password if there is none.

    An existing row is returned as it is, whatever its source: the caller decides what a local
    row or a disabled row means. A concurrent first login that wins the insert race surfaces as
    ``Conflict`` from the flush.
    """
    row = (await session.execute(select(*USER_COLUMNS).where(User.name == name))).first()
    if row is not None:
        return user_record(row)
    return await insert_user(session, name, UNUSABLE_PASSWORD, admin=False, source=source)


async def replace_directory_groups(
    session: AsyncSession, user_id: int, groups: Iterable[str]
) -> None:
    """Make ``groups`` the directory groups of the user (those seen at this login)."""
    await session.execute(delete(DirectoryGroup).where(DirectoryGroup.user_id == user_id))
    for name in sorted(set(groups)):
        session.add(DirectoryGroup(user_id=user_id, name=name))
    await session.flush()


async def record_directory_login(session: AsyncSession, user_id: int) -> None:
    """Note a successful directory login."""
    await session.execute(update(User).where(User.id == user_id).values(last_login_at=utcnow()))
