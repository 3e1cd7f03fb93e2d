"""Trusts: which OpenID Connect ID tokens may log in, and what they are granted (pure code).

A trust names an issuer (``https://token.actions.githubusercontent.com``), the exact audience
the tokens must carry, claim conditions that must all match (``repository=org/app``,
``ref=refs/heads/main``) and the grants, written as scope caps (``repository:org/app:pull,push``).
A token that passes verification and every condition of a trust gets exactly the trust's grants
intersected with what it requested: the grant is the whole policy, the ACL is not consulted
(there is no user behind the token for an ACL rule to name, and one place to read what a CI job
can do is easier to audit than two). Trusts are tried in creation order and the first that
matches decides, like the ACL's first match.

Claim patterns use the ACL's syntax (``authsvc.acl.compile_pattern``): a glob where ``*`` and
``?`` also match ``/``, or a ``/regex/``; both must match the whole claim value. Booleans are
compared as ``true``/``false`` and numbers in decimal; a missing claim, a list or an object
matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authsvc.acl_patterns import Pattern, RuleError, compile_pattern
from authsvc.caps import CapError, ScopeCap, parse_caps

# The subject of access tokens issued through a trust: ``oidc:NAME``. A user name cannot contain
# ``:`` (authsvc.names), so no user can ever be confused with a trust.
SUBJECT_PREFIX = "oidc:"
# The Basic user name that marks the password as an ID token.
BASIC_USERNAME = "oidc"
MAX_CONDITIONS = 16
MIN_TTL = 60
MAX_TTL = 3600
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_CLAIM = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class TrustError(ValueError):
    """A trust definition is invalid; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class ClaimCondition:
    """One ``claim=pattern`` condition."""

    claim: str
    pattern: Pattern

    @property
    def text(self) -> str:
        """The condition as written."""
        return f"{self.claim}={self.pattern.text}"


@dataclass(frozen=True, slots=True)
class Trust:
    """A validated trust, as the authenticator and ``trust check`` use it."""

    id: int
    name: str
    issuer: str
    audience: str
    conditions: tuple[ClaimCondition, ...]
    grants: tuple[ScopeCap, ...]
    # Lifetime of the access tokens it issues, in seconds; None: the server's token ttl.
    ttl: int | None

    @property
    def subject(self) -> str:
        """The ``sub`` of the access tokens this trust issues."""
        return SUBJECT_PREFIX + self.name


def check_name(name: str) -> str:
    """A trust name: lower-case letters, digits, ``.``, ``_``, ``-``; 1 to 63 characters."""
    if not _NAME.fullmatch(name):
        raise TrustError(
            f"trust name {name!r}: use 1 to 63 of a-z, 0-9, '.', '_', '-' (starting alphanumeric)"
        )
    return name


def check_issuer(issuer: str) -> str:
    """An issuer is an https URL without query or fragment (OpenID Connect Discovery §2)."""
    issuer = issuer.strip().rstrip("/")
    if not issuer.startswith("https://") or len(issuer) <= len("https://"):
        raise TrustError(f"issuer {issuer!r}: expected an https URL")
    if any(c in issuer for c in "?# ") or len(issuer) > 255:
        raise TrustError(f"issuer {issuer!r}: no query, fragment or spaces; at most 255 bytes")
    return issuer


def check_audience(audience: str) -> str:
    """The audience the tokens must carry: printable, no spaces, at most 255 characters."""
    if not audience or len(audience) > 255 or not audience.isprintable() or " " in audience:
        raise TrustError(f"audience {audience!r}: 1 to 255 printable characters, no spaces")
    return audience


def check_ttl(ttl: int | None) -> int | None:
    """An access-token lifetime between MIN_TTL and MAX_TTL seconds (or None: the default)."""
    if ttl is not None and not MIN_TTL <= ttl <= MAX_TTL:
        raise TrustError(f"ttl: must be between {MIN_TTL} and {MAX_TTL} seconds")
    return ttl


def parse_condition(text: str) -> ClaimCondition:
    """Parse ``claim=pattern`` (the pattern may itself contain ``=``)."""
    claim, sep, pattern = text.partition("=")
    claim = claim.strip()
    if not sep or not _CLAIM.fullmatch(claim):
        raise TrustError(f"claim condition {text!r}: expected CLAIM=PATTERN")
    try:
        return ClaimCondition(claim, compile_pattern(pattern, f"claim {claim}"))
    except RuleError as exc:
        raise TrustError(str(exc)) from None


def parse_conditions(texts: Iterable[str]) -> tuple[ClaimCondition, ...]:
    """At least one condition: an issuer such as GitHub's signs tokens for every repository."""
    conditions = tuple(parse_condition(t) for t in texts)
    if not conditions:
        raise TrustError(
            "at least one --claim is required (for example repository=org/app): the issuer "
            "signs tokens for every project it hosts"
        )
    if len(conditions) > MAX_CONDITIONS:
        raise TrustError(f"at most {MAX_CONDITIONS} claim conditions")
    return conditions


def parse_grants(texts: Iterable[str]) -> tuple[ScopeCap, ...]:
    """The grants, written as scope caps (``repository:org/app:pull,push``)."""
    try:
        return parse_caps(texts)
    except CapError as exc:
        raise TrustError(f"grant: {exc}") from None


def claim_text(value: Any) -> str | None:
    """A claim value as the text patterns see, or None for values no pattern can match."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``aud`` claim as a tuple (RFC 7519 §4.1.3: a string or an array of strings)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


def mismatches(trust: Trust, claims: Mapping[str, Any]) -> list[str]:
    """Why ``trust`` does not accept verified ``claims`` (empty: it does)."""
    reasons: list[str] = []
    if claims.get("iss") != trust.issuer:
        reasons.append(f"iss is not {trust.issuer}")
    if trust.audience not in audiences(claims):
        reasons.append(f"aud does not include {trust.audience!r}")
    for condition in trust.conditions:
        value = claim_text(claims.get(condition.claim))
        if value is None:
            reasons.append(f"claim {condition.claim!r} is missing or not a string")
        elif not condition.pattern.matches(value):
            reasons.append(f"claim {condition.text} does not match {value!r}")
    return reasons


def first_match(trusts: Sequence[Trust], claims: Mapping[str, Any]) -> Trust | None:
    """The first trust (in creation order) that accepts ``claims``."""
    return next((t for t in trusts if not mismatches(t, claims)), None)
