"""``acl check``'s and ``trust check``'s answers: what the token endpoint would grant, and why.

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
from authsvc.authn.federation import FederationAuthenticator, identity_of
from authsvc.authn.local import LocalAuthenticator
from authsvc.authz import AccessDecider, AccessDecision, ScopeGrant
from authsvc.scope import Scope, format_scope
from authsvc.trusts import Trust


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


# --- trust check: which trust accepts an ID token, and what it grants -------------------------

# The claims shown first by `trust check` (GitHub Actions and GitLab CI name their jobs so).
SHOWN_CLAIMS = (
    "iss",
    "aud",
    "sub",
    "repository",
    "project_path",
    "ref",
    "ref_protected",
    "workflow_ref",
    "environment",
)


@dataclass(frozen=True, slots=True)
class TrustExplanation:
    """``trust check``'s answer: the verified claims, each trust's verdict, the decision."""

    claims: dict[str, Any]
    verdicts: tuple[tuple[Trust, tuple[str, ...]], ...]
    matched: Trust | None
    decision: AccessDecision | None


async def explain_trust(
    token: str,
    federation: FederationAuthenticator,
    access: AccessDecider,
    service: str,
    scopes: Sequence[Scope],
) -> TrustExplanation:
    """Verify ``token`` as the endpoint does, then decide ``scopes`` for the trust that matches.

    TokenRefused (bad signature, expired, unknown issuer) and BackendUnavailable propagate.
    """
    claims, results = await federation.explain(token)
    verdicts = tuple((trust, tuple(reasons)) for trust, reasons in results)
    matched = next((trust for trust, reasons in verdicts if not reasons), None)
    decision = None
    if matched is not None:
        decision = await access.decide(identity_of(matched, claims), service, scopes)
    return TrustExplanation(claims, verdicts, matched, decision)


def _trust_grant_text(trust: Trust, grant: ScopeGrant) -> str:
    granted = ",".join(grant.actions) if grant.actions else "(none)"
    caps = [cap.text for cap in trust.grants if cap.allows(grant.scope)]
    why = f"trust {trust.name} grant {' '.join(caps)}" if caps else f"no grant of {trust.name}"
    return f"{granted} ({why})"


def trust_explanation_lines(explanation: TrustExplanation) -> list[str]:
    """The human-readable form: the claims, one line per trust, one line per scope."""
    claims = explanation.claims
    shown = " ".join(f"{k}={claims[k]}" for k in SHOWN_CLAIMS if k in claims)
    lines = [f"token: {shown}"]
    for trust, reasons in explanation.verdicts:
        if not reasons:
            ttl = f"{trust.ttl}s" if trust.ttl else "server default"
            grants = " ".join(g.text for g in trust.grants)
            lines.append(
                f"trust {trust.name}: MATCHES -> subject {trust.subject}, grants {grants}, "
                f"token ttl {ttl}"
            )
        else:
            lines.append(f"trust {trust.name}: no match: {'; '.join(reasons)}")
    if explanation.matched is not None and explanation.decision is not None:
        for grant in explanation.decision.grants:
            text = _trust_grant_text(explanation.matched, grant)
            lines.append(f"{format_scope(grant.scope)} -> {text}")
    return lines


def trust_explanation_json(explanation: TrustExplanation) -> dict[str, Any]:
    """The machine-readable form; ``access`` is exactly the token's ``access`` claim."""
    decision = explanation.decision
    return {
        "claims": explanation.claims,
        "trusts": [
            {"name": trust.name, "matches": not reasons, "reasons": list(reasons)}
            for trust, reasons in explanation.verdicts
        ],
        "matched": explanation.matched.name if explanation.matched else None,
        "subject": explanation.matched.subject if explanation.matched else None,
        "access": [e.to_claim() for e in decision.access] if decision else [],
        "scopes": [
            {"scope": format_scope(g.scope), "granted": list(g.actions)}
            for g in (decision.grants if decision else ())
        ],
    }
