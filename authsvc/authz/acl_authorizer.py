"""The ACL authorizer: docker_auth's ordered list, first match wins, over a rule source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from authsvc import acl
from authsvc.authn.types import Identity
from authsvc.authz.catalog import acl_entries
from authsvc.authz.rules import RuleSource
from authsvc.authz.types import ScopeGrant
from authsvc.scope import Scope


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AclAuthorizer:
    """Evaluates each requested scope against the ordered rules (``authsvc.acl.evaluate``)."""

    def __init__(self, rules: RuleSource, *, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        """Read the rules from ``rules`` once per request; ``clock`` checks validity windows."""
        self._rules = rules
        self._clock = clock

    async def authorize(
        self, identity: Identity | None, service: str, scopes: Sequence[Scope]
    ) -> tuple[ScopeGrant, ...]:
        """The intersection of what was requested and what the first matching rule allows."""
        if not scopes:
            return ()
        rules = await self._rules.rules()
        # One moment per request: every scope of one token is decided against the same windows.
        now = self._clock()
        account = identity.name if identity is not None else None
        groups = identity.groups if identity is not None else frozenset()
        grants: list[ScopeGrant] = []
        for scope in scopes:
            decision = acl.evaluate(
                rules, account=account, groups=groups, scope=scope, service=service, now=now
            )
            catalog = None
            if decision.rule is not None and decision.rule.filtered and decision.granted:
                catalog = acl_entries(
                    rules, account=account, groups=groups, service=service, now=now
                )
            grants.append(
                ScopeGrant(scope, decision.granted, decision.rule, decision.outside_window, catalog)
            )
        return tuple(grants)
