"""The one decision path of the token endpoint and ``acl check``: service, grants, access claim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from authsvc.authn.types import Identity
from authsvc.authz.grants import AccessEntry, merge_grants
from authsvc.authz.types import Authorizer, ScopeGrant
from authsvc.caps import capped_actions
from authsvc.errors import AuthError, ErrorCode
from authsvc.scope import Scope


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Per-scope grants with their deciding rules, and the merged ``access`` claim."""

    service: str
    grants: tuple[ScopeGrant, ...]
    access: tuple[AccessEntry, ...]


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
        if identity is not None and identity.cap is not None:
            cap = identity.cap
            grants = tuple(
                ScopeGrant(g.scope, capped_actions(cap, g.scope, g.actions), g.rule) for g in grants
            )
        return AccessDecision(service, grants, merge_grants(grants))
