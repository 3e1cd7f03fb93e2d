"""Rows for users an outside identity provider vouches for (LDAP, OpenID Connect).

Such a user needs no row beforehand: the first successful sign-in creates one marked with the
provider's ``source`` and an unusable password, so that ACL rules, refresh tokens, the account
page and ``authsvc user disable`` work for it as for a local user. Every sign-in replaces the
user's provider groups with the ones the provider reported this time.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.authn.types import INVALID_LOGIN, USER_DISABLED, WrongCredentials


async def provision_user(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    source: str,
    groups: Iterable[str],
) -> store.UserRecord | WrongCredentials:
    """The user's row (created on a first sign-in) with ``groups`` stored, or a refusal.

    A local user, or one of another provider, who has this name keeps it: the sign-in is
    refused rather than merged into their account. A disabled row refuses the sign-in even
    though the provider accepted it.
    """
    wanted = frozenset(groups)
    for _ in range(2):
        try:
            async with store.transaction(sessionmaker) as session:
                user = await store.ensure_directory_user(session, name, source)
                if user.source != source:
                    return WrongCredentials(INVALID_LOGIN)
                if user.disabled:
                    return WrongCredentials(USER_DISABLED)
                await store.replace_directory_groups(session, user.id, wanted)
                await store.record_directory_login(session, user.id)
                return user
        except store.Conflict:
            # A concurrent first sign-in created the row: the second round reads it.
            continue
    raise store.StoreUnavailable("could neither create nor read an external user's row")
