"""The authorization vocabulary: a per-scope grant and the Authorizer protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from authsvc.acl import AclRule
from authsvc.authn.types import Identity
from authsvc.scope import Scope
from svckit.catalog_filter import Entry


@dataclass(frozen=True, slots=True)
class ScopeGrant:
    """What was granted for one requested scope, and the rule that decided (None: no match)."""

    scope: Scope
    actions: tuple[str, ...]
    rule: AclRule | None
    # Rules that matched but were skipped, being outside their validity window.
    outside_window: tuple[AclRule, ...] = ()
    # For a catalog granted by a filtered rule: the account's first-match list of what it may
    # pull (authsvc.authz.catalog); None when the catalog is granted whole or not at all.
    catalog: tuple[Entry, ...] | None = None
    # Why something the rule allows was not granted after all (shown by acl check).
    note: str | None = None


class Authorizer(Protocol):
    """Decides requested scopes for an identity (None: anonymous), one grant per scope."""

    async def authorize(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> tuple[ScopeGrant, ...]:
        """Grant each scope the requested actions that policy allows (possibly none)."""
        ...
