"""The one decision path of the token endpoint and ``acl check``: service, grants, access claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from authsvc.authn.types import Identity
from authsvc.authz.catalog import catalog_filter
from authsvc.authz.grants import AccessEntry, merge_grants
from authsvc.authz.types import Authorizer, ScopeGrant
from authsvc.caps import ScopeCap, capped_actions
from authsvc.errors import AuthError, ErrorCode
from authsvc.scope import Scope
from svckit.catalog_filter import MAX_CLAIM_CHARS, CatalogFilter


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Per-scope grants with their deciding rules, and the merged ``access`` claim."""

    service: str
    grants: tuple[ScopeGrant, ...]
    access: tuple[AccessEntry, ...]
    # The ``authsvc.catalog`` claim's filter when a filtered rule granted the catalog.
    catalog: CatalogFilter | None = None


class AccessDecider:
    """Checks the service and authorizes the scopes; what a token grants comes from here only."""

    def __init__(self, authorizer: Authorizer, services: Sequence[str]) -> None:
        """Decide with ``authorizer`` for the configured ``services`` (audiences)."""
        self.authorizer = authorizer
        self.services = tuple(services)

    def check_service(self, service: str | None) -> str:
        """Return the service if this server issues for it; SERVICE_UNKNOWN (400) otherwise."""
        if not service:
            raise AuthError(ErrorCode.SERVICE_UNKNOWN, "the service parameter is required")
        if service not in self.services:
            raise AuthError(ErrorCode.SERVICE_UNKNOWN, f"unknown service {service!r}")
        return service

    async def decide(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> AccessDecision:
        """Grant each scope what the policy allows and merge the result into access entries."""
        if identity is not None and identity.federation is not None:
            # A trust's grant is the whole policy: what was requested, cut to the grant.
            cap = identity.cap or ()
            grants = tuple(ScopeGrant(s, capped_actions(cap, s, s.actions), None) for s in scopes)
            return AccessDecision(service, grants, merge_grants(grants))
        grants = await self.authorizer.authorize(identity, service, scopes)
        caps = identity.cap if identity is not None else None
        if caps is not None:
            grants = tuple(
                replace(g, actions=capped_actions(caps, g.scope, g.actions)) for g in grants
            )
        catalog: CatalogFilter | None = None
        checked: list[ScopeGrant] = []
        for grant in grants:
            if grant.catalog is not None and grant.actions:
                catalog, grant = _with_filter(grant, caps)
            checked.append(grant)
        grants = tuple(checked)
        return AccessDecision(service, grants, merge_grants(grants), catalog)


def _with_filter(
    grant: ScopeGrant, caps: Sequence[ScopeCap] | None
) -> tuple[CatalogFilter | None, ScopeGrant]:
    """The filter of a filtered catalog grant, or no catalog at all if the claim is too big.

    Dropping the grant fails closed: a token without the claim would list every repository.
    """
    assert grant.catalog is not None
    found = catalog_filter(grant.catalog, caps)
    size = found.claim_size()
    if size > MAX_CLAIM_CHARS:
        note = (
            f"not granted: the filtered catalog's patterns take {size} characters, "
            f"more than {MAX_CLAIM_CHARS}"
        )
        return None, replace(grant, actions=(), note=note)
    return found, grant
