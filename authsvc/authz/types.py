"""The authorization vocabulary: a per-scope grant and the Authorizer protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from authsvc.acl import AclRule
from authsvc.authn.types import Identity
from authsvc.scope import Scope


@dataclass(frozen=True, slots=True)
class ScopeGrant:
    """What was granted for one requested scope, and the rule that decided (None: no match)."""

    scope: Scope
    actions: tuple[str, ...]
    rule: AclRule | None


class Authorizer(Protocol):
    """Decides requested scopes for an identity (None: anonymous), one grant per scope."""

    async def authorize(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> tuple[ScopeGrant, ...]:
        """Grant each scope the requested actions that policy allows (possibly none)."""
        ...
