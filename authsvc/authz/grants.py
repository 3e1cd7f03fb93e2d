"""Merging per-scope grants into the token's ``access`` claim (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from authsvc.authz.types import ScopeGrant


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One granted resource of the ``access`` claim (distribution ``docs/spec/auth/jwt.md``)."""

    type: str
    name: str
    actions: tuple[str, ...]

    def to_claim(self) -> dict[str, object]:
        """The JSON form: ``{"type", "name", "actions"}``."""
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def merge_grants(grants: Iterable[ScopeGrant]) -> tuple[AccessEntry, ...]:
    """Combine per-scope grants: drop empty ones, merge repeated resources in request order."""
    merged: dict[tuple[str, str], list[str]] = {}
    for grant in grants:
        if not grant.actions:
            # Downscope, don't fail: nothing granted means the resource is left out (quay,
            # docker_auth), and the token is still issued.
            continue
        bucket = merged.setdefault((grant.scope.type, grant.scope.name), [])
        bucket.extend(a for a in grant.actions if a not in bucket)
    return tuple(AccessEntry(t, n, tuple(actions)) for (t, n), actions in merged.items())
