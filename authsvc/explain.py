"""``acl check``'s answer: what the token endpoint would grant an account, and why.

It runs the endpoint's own objects (``services.py``): the local authenticator's lookup builds
the identity exactly as a login does (same user row, same groups), and the ``AccessDecider``
decides the scopes. Only the password check is skipped, and for an account the endpoint would
refuse, the refusal is reported with the grants the account would get once it is allowed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from authsvc import acl
from authsvc.authn.local import LocalAuthenticator
from authsvc.authz import AccessDecider, AccessDecision, ScopeGrant
from authsvc.scope import Scope, format_scope


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decision for one account (None: anonymous) and, if refused, why.

    ``decision`` is what a token would carry; ``if_allowed`` is what a refused account would
    get if it were allowed in (None for an unknown user, who has no identity at all).
    """

    account: str | None
    service: str
    refusal: str | None
    decision: AccessDecision
    if_allowed: AccessDecision | None = None


async def explain(
    account: str | None,
    service: str,
    scopes: Sequence[Scope],
    local: LocalAuthenticator,
    access: AccessDecider,
) -> Explanation:
    """Decide ``scopes`` for ``account`` as ``GET /auth`` with its correct password would."""
    if account is None:
        return Explanation(None, service, None, await access.decide(None, service, scopes))
    lookup = await local.lookup(account)
    if lookup.refusal is None:
        decision = await access.decide(lookup.identity, service, scopes)
        return Explanation(account, service, None, decision)
    refused = AccessDecision(service, tuple(ScopeGrant(s, (), None) for s in scopes), ())
    if_allowed = None
    if lookup.identity is not None:
        if_allowed = await access.decide(lookup.identity, service, scopes)
    return Explanation(account, service, lookup.refusal, refused, if_allowed)


def _grant_text(grant: ScopeGrant) -> str:
    granted = ",".join(grant.actions) if grant.actions else "(none)"
    why = f"rule {acl.describe_rule(grant.rule)}" if grant.rule else "no rule matched"
    details = [why]
    if grant.catalog is not None and grant.actions:
        details.append(f"filtered to {len(grant.catalog)} pattern(s) of pullable repositories")
    if grant.note:
        details.append(grant.note)
    details.extend(
        f"rule #{rule.id} matched but is outside its window ({rule.window_text()})"
        for rule in grant.outside_window
    )
    return f"{granted} ({'; '.join(details)})"


def explanation_lines(explanation: Explanation) -> list[str]:
    """The human-readable form: one line per scope, after a note when the account is refused."""
    lines: list[str] = []
    refusal = explanation.refusal
    if refusal is not None:
        lines.append(
            f"note: /auth refuses {explanation.account!r} with 401 ({refusal}): no token is issued"
        )
    allowed = explanation.if_allowed.grants if explanation.if_allowed else None
    for index, grant in enumerate(explanation.decision.grants):
        scope = format_scope(grant.scope)
        if refusal is None:
            lines.append(f"{scope} -> {_grant_text(grant)}")
        elif allowed is not None:
            lines.append(
                f"{scope} -> (none) (refused; if allowed in: {_grant_text(allowed[index])})"
            )
        else:
            lines.append(f"{scope} -> (none) (refused: {refusal})")
    return lines


def _grants_json(grants: Sequence[ScopeGrant]) -> list[dict[str, Any]]:
    return [
        {
            "scope": format_scope(grant.scope),
            "granted": list(grant.actions),
            "rule": acl.rule_to_dict(grant.rule) if grant.rule else None,
            "outside_window": [acl.rule_to_dict(rule) for rule in grant.outside_window],
            "note": grant.note,
        }
        for grant in grants
    ]


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    """The machine-readable form; ``access`` is exactly the token's ``access`` claim."""
    catalog = explanation.decision.catalog
    return {
        "account": explanation.account,
        "service": explanation.service,
        "refused": explanation.refusal,
        "access": [entry.to_claim() for entry in explanation.decision.access],
        # The token's catalog-filter claim (svckit.catalog_filter), when a filtered rule
        # granted the catalog.
        "catalog_filter": catalog.to_claim() if catalog is not None else None,
        "scopes": _grants_json(explanation.decision.grants),
        "if_allowed": (
            _grants_json(explanation.if_allowed.grants) if explanation.if_allowed else None
        ),
    }
