"""The ACL authorizer: docker_auth's ordered list, first match wins, over a rule source."""

from __future__ import annotations

from collections.abc import Sequence

from authsvc import acl
from authsvc.authn.types import Identity
from authsvc.authz.rules import RuleSource
from authsvc.authz.types import ScopeGrant
from authsvc.scope import Scope


class AclAuthorizer:
    """Evaluates each requested scope against the ordered rules (``authsvc.acl.evaluate``)."""

    def __init__(self, rules: RuleSource) -> None:
        """Read the rules from ``rules`` once per request."""
        self._rules = rules

    async def authorize(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> tuple[ScopeGrant, ...]:
        """The intersection of what was requested and what the first matching rule allows."""
        if not scopes:
            return ()
        rules = await self._rules.rules()
        account = identity.name if identity is not None else None
        groups = identity.groups if identity is not None else frozenset()
        grants: list[ScopeGrant] = []
        for scope in scopes:
            decision = acl.evaluate(
                rules, account=account, groups=groups, scope=scope, service=service
            )
            grants.append(ScopeGrant(scope, decision.granted, decision.rule))
        return tuple(grants)
