"""The pure trust policy: conditions, claim values, audiences, first match (authsvc.trusts)."""

from __future__ import annotations

from typing import Any

import pytest

from authsvc.trusts import (
    Trust,
    TrustError,
    check_issuer,
    claim_text,
    first_match,
    mismatches,
    parse_condition,
    parse_conditions,
    parse_grants,
)

ISSUER = "https://token.actions.githubusercontent.com"


def trust(name: str, *conditions: str, audience: str = "authsvc") -> Trust:
    return Trust(
        id=1,
        name=name,
        issuer=ISSUER,
        audience=audience,
        conditions=parse_conditions(conditions),
        grants=parse_grants(["repository:org/app:pull"]),
        ttl=None,
    )


def claims(**extra: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": "authsvc", **extra}


@pytest.mark.parametrize(
    ("condition", "value", "matches"),
    [
        ("repository=org/app", "org/app", True),
        ("repository=org/app", "org/app2", False),
        ("repository=org/*", "org/app", True),
        ("repository=org/*", "other/app", False),
        ("ref=refs/heads/main", "refs/heads/main", True),
        ("ref=/refs/(heads/main|tags/v.*)/", "refs/tags/v1.2", True),
        ("ref=/refs/(heads/main|tags/v.*)/", "refs/heads/dev", False),
        ("workflow_ref=org/app/.github/workflows/release.yml@*", "org/app/.github/workflows/"
         "release.yml@refs/heads/main", True),
        ("sub=repo:org/app:environment:production", "repo:org/app:environment:production", True),
        ("ref_protected=true", True, True),
        ("ref_protected=true", "true", True),
        ("ref_protected=true", False, False),
        ("run_number=4?", 42, True),
        ("groups=*", ["a"], False),
        ("groups=*", None, False),
    ],
)  # fmt: skip
def test_conditions(condition: str, value: Any, matches: bool) -> None:
    parsed = parse_condition(condition)
    t = trust("t", condition)
    assert (mismatches(t, claims(**{parsed.claim: value})) == []) is matches


def test_audience_string_or_list_and_exact_issuer() -> None:
    t = trust("t", "sub=*")
    assert mismatches(t, claims(sub="x", aud=["other", "authsvc"])) == []
    assert mismatches(t, claims(sub="x", aud="authsvc2")) == ["aud does not include 'authsvc'"]
    assert mismatches(t, claims(sub="x", iss=ISSUER + "/")) == [f"iss is not {ISSUER}"]


def test_first_match_in_creation_order() -> None:
    a, b = trust("a", "ref=refs/heads/main"), trust("b", "ref=*")
    assert first_match([a, b], claims(ref="refs/heads/main")) is a
    assert first_match([a, b], claims(ref="refs/heads/dev")) is b
    assert first_match([a], claims(ref="refs/heads/dev")) is None


def test_claim_text() -> None:
    assert [claim_text(v) for v in (True, False, 3, "x", None, [], {})] == [
        "true", "false", "3", "x", None, None, None,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "issuer", ["http://example.com", "https://", "https://x/?a=b", "https://x/#f", "ftp://x"]
)
def test_issuers_must_be_https_urls(issuer: str) -> None:
    with pytest.raises(TrustError):
        check_issuer(issuer)
    assert check_issuer(ISSUER + "/") == ISSUER


def test_at_least_one_condition() -> None:
    with pytest.raises(TrustError, match="at least one --claim"):
        parse_conditions([])
