"""Groups and memberships (matched by ACL account patterns ``group:NAME``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from authsvc.models import DirectoryGroup, Group, GroupMember, User, utcnow
from authsvc.names import normalize_group_name
from authsvc.store.common import Conflict, GroupRecord, NotFound, flush, user_id_of


async def _group_id(session: AsyncSession, name: str) -> int:
    group_id = await session.scalar(select(Group.id).where(Group.name == name))
    if group_id is None:
        raise NotFound(f"unknown group {name!r}")
    return group_id


async def create_group(session: AsyncSession, name: str) -> GroupRecord:
    """Create a group (the name is normalised; ValueError if invalid, Conflict if taken)."""
    name = normalize_group_name(name)
    if await session.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise Conflict(f"group {name!r} already exists")
    group = Group(name=name, created_at=utcnow())
    session.add(group)
    await flush(session, f"group {name!r} already exists")
    return GroupRecord(group.id, name, group.created_at, ())


async def get_group(session: AsyncSession, name: str) -> GroupRecord:
    """One group with its members (NotFound if there is none)."""
    group_id = await _group_id(session, name)
    rows = await session.execute(
        select(Group.id, Group.name, Group.created_at, User.name)
        .where(Group.id == group_id)
        .outerjoin(GroupMember, GroupMember.group_id == Group.id)
        .outerjoin(User, User.id == GroupMember.user_id)
        .order_by(User.name)
    )
    found = rows.all()
    _, group, created_at, _ = found[0]
    members = tuple(m for *_, m in found if m is not None)
    return GroupRecord(group_id, group, created_at, members)


async def delete_group(session: AsyncSession, name: str) -> None:
    """Delete a group and its memberships (rules naming it then match nobody)."""
    group_id = await _group_id(session, name)
    await session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    await session.execute(delete(Group).where(Group.id == group_id))


async def list_groups(
    session: AsyncSession, *, after: str | None = None, limit: int | None = None
) -> list[GroupRecord]:
    """All groups with their members by name, or the ``limit`` first after the name ``after``."""
    page = select(Group.id)
    if after is not None:
        page = page.where(Group.name > after)
    ids = page.order_by(Group.name).limit(limit).scalar_subquery()
    rows = await session.execute(
        select(Group.id, Group.name, Group.created_at, User.name)
        .where(Group.id.in_(ids) if limit is not None or after is not None else true())
        .outerjoin(GroupMember, GroupMember.group_id == Group.id)
        .outerjoin(User, User.id == GroupMember.user_id)
        .order_by(Group.name, User.name)
    )
    groups: dict[int, tuple[str, dt.datetime, list[str]]] = {}
    for group_id, name, created_at, member in rows:
        entry = groups.setdefault(group_id, (name, created_at, []))
        if member is not None:
            entry[2].append(member)
    return [GroupRecord(gid, n, c, tuple(m)) for gid, (n, c, m) in groups.items()]


async def add_member(session: AsyncSession, group: str, user: str) -> None:
    """Add a user to a group (NotFound for either, Conflict if already a member)."""
    group_id = await _group_id(session, group)
    user_id = await user_id_of(session, user)
    existing = await session.scalar(
        select(GroupMember.user_id).where(
            GroupMember.group_id == group_id, GroupMember.user_id == user_id
        )
    )
    if existing is not None:
        raise Conflict(f"user {user!r} is already a member of group {group!r}")
    session.add(GroupMember(group_id=group_id, user_id=user_id))
    await flush(session, f"user {user!r} is already a member of group {group!r}")


async def remove_member(session: AsyncSession, group: str, user: str) -> None:
    """Remove a user from a group (NotFound if they are not a member)."""
    group_id = await _group_id(session, group)
    user_id = await user_id_of(session, user)
    condition = (GroupMember.group_id == group_id) & (GroupMember.user_id == user_id)
    if await session.scalar(select(GroupMember.user_id).where(condition)) is None:
        raise NotFound(f"user {user!r} is not a member of group {group!r}")
    await session.execute(delete(GroupMember).where(condition))


async def groups_of(session: AsyncSession, user_id: int) -> frozenset[str]:
    """The names of the user's groups: local memberships and those a directory reported.

    One indexed query (a UNION of the two primary-key-ordered tables).
    """
    local = (
        select(Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.user_id == user_id)
    )
    directory = select(DirectoryGroup.name).where(DirectoryGroup.user_id == user_id)
    rows = await session.scalars(union(local, directory))
    return frozenset(rows)
