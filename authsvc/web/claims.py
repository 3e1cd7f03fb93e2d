"""From verified ID token claims to an authsvc user name and groups: pure, no I/O.

The user name claim is configurable (``preferred_username`` by default; ``email`` or ``sub``
where a provider lets people rename themselves). The name must pass the same rules as any user
name, so a provider cannot hand out a name like ``alice/ci`` that an ``${account}/*`` rule would
place inside another user's namespace. Group names that are no valid authsvc group name are
dropped rather than failing the sign-in, as with LDAP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from authsvc.names import normalize_group_name, normalize_username

log = logging.getLogger(__name__)

MAX_GROUPS = 256


class ClaimError(ValueError):
    """The ID token lacks a usable user name; the message is safe to show."""


def identity_from_claims(
    claims: Mapping[str, Any], username_claim: str, groups_claim: str
) -> tuple[str, frozenset[str]]:
    """The user name (lower-cased, as directory names are) and group names in ``claims``."""
    raw = claims.get(username_claim)
    if not isinstance(raw, str) or not raw:
        raise ClaimError(f"the provider sent no {username_claim!r} claim to name the user")
    try:
        name = normalize_username(raw).lower()
    except ValueError as exc:
        raise ClaimError(f"the provider's user name is not allowed here: {exc}") from None
    groups: set[str] = set()
    listed = claims.get(groups_claim) if groups_claim else None
    if isinstance(listed, list):
        for item in listed[:MAX_GROUPS]:
            try:
                groups.add(normalize_group_name(str(item)))
            except ValueError:
                log.warning("oidc: ignoring a group whose name is no valid group name")
    return name, frozenset(groups)
