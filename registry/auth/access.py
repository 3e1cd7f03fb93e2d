"""Pure access policy: what a request needs and what a verified token grants.

A port of Distribution 2.8's `appendAccessRecords` / `appendCatalogAccessRecord`
(registry/handlers/app.go) and of the token package's `accessSet` (registry/auth/token).
No I/O, no aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from svckit.catalog_filter import CatalogFilter

# The wildcard action: a grant of "*" covers every action on its resource (token/util.go
# `actionSet.contains`), and it is the action the catalog requires.
WILDCARD = "*"

# Resource type and name of the catalog (docs/spec/auth/scope.md, "registry:catalog:*").
CATALOG_TYPE = "registry"
CATALOG_NAME = "catalog"

_PULL = ("pull",)
_PULL_PUSH = ("pull", "push")
_DELETE = ("delete",)

# Distribution's method -> actions table; other methods need nothing beyond a valid token.
_ACTIONS_BY_METHOD: Mapping[str, tuple[str, ...]] = {
    "GET": _PULL,
    "HEAD": _PULL,
    "POST": _PULL_PUSH,
    "PUT": _PULL_PUSH,
    "PATCH": _PULL_PUSH,
    "DELETE": _DELETE,
}


@dataclass(frozen=True, slots=True)
class Access:
    """One required (resource type, resource name, action) triple."""

    type: str
    name: str
    action: str


def required_access(method: str, name: str | None, *, catalog: bool = False) -> list[Access]:
    """The access a request needs: per-method actions on the repository, or the catalog.

    GET/HEAD need pull, POST/PUT/PATCH need pull and push, DELETE needs delete, the catalog
    needs `registry:catalog:*`. The base route (`/v2/`, no name) needs only a valid token.
    """
    if catalog:
        return [Access(CATALOG_TYPE, CATALOG_NAME, WILDCARD)]
    if name is None:
        return []
    actions = _ACTIONS_BY_METHOD.get(method.upper(), ())
    return [Access("repository", name, action) for action in actions]


def scope_param(needed: Iterable[Access]) -> str:
    """The challenge's `scope` value: actions grouped per resource, resources space-separated.

    Distribution builds it from a map (token/accesscontroller.go `scopeParam`), so its order
    is random; ours keeps first-seen order, e.g. `repository:a/b:pull,push`.
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for access in needed:
        actions = grouped.setdefault((access.type, access.name), [])
        if access.action not in actions:
            actions.append(access.action)
    return " ".join(f"{typ}:{name}:{','.join(acts)}" for (typ, name), acts in grouped.items())


@dataclass(frozen=True)
class Principal:
    """The subject of a verified token and the actions it grants per (type, name)."""

    subject: str
    access: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    expires_at: int = 0
    # From authsvc's ``authsvc.catalog`` claim: the catalog lists only the names it shows.
    catalog_filter: CatalogFilter | None = None

    def allows(self, access: Access) -> bool:
        """True if the token grants the action, or `*`, on the access's resource."""
        granted = self.access.get((access.type, access.name))
        return granted is not None and (WILDCARD in granted or access.action in granted)


def grants_from_claim(
    entries: Iterable[tuple[str, str, Iterable[str]]],
) -> dict[tuple[str, str], frozenset[str]]:
    """Merge (type, name, actions) entries of the `access` claim into one set per resource.

    The resource class (`repository(plugin)`) is ignored, as Distribution's `accessSet` keys
    resources by type and name only.
    """
    merged: dict[tuple[str, str], set[str]] = {}
    for typ, name, actions in entries:
        merged.setdefault((typ, name), set()).update(actions)
    return {resource: frozenset(actions) for resource, actions in merged.items()}
