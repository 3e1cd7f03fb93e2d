"""Pure access policy: required access per request, grants, and the challenge scope."""

from __future__ import annotations

import pytest

from registry.auth.access import Access, Principal, grants_from_claim, required_access, scope_param

REPO = "library/app"


@pytest.mark.parametrize(
    ("method", "actions"),
    [
        ("GET", ["pull"]),
        ("HEAD", ["pull"]),
        ("POST", ["pull", "push"]),
        ("PUT", ["pull", "push"]),
        ("PATCH", ["pull", "push"]),
        ("DELETE", ["delete"]),
        ("get", ["pull"]),
        ("OPTIONS", []),
    ],
)
def test_required_access_per_method(method: str, actions: list[str]) -> None:
    assert required_access(method, REPO) == [Access("repository", REPO, a) for a in actions]


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_base_route_needs_only_a_valid_token(method: str) -> None:
    assert required_access(method, None) == []


@pytest.mark.parametrize("name", [None, REPO])
def test_catalog_needs_registry_catalog_wildcard(name: str | None) -> None:
    assert required_access("GET", name, catalog=True) == [Access("registry", "catalog", "*")]


@pytest.mark.parametrize(
    ("needed", "expected"),
    [
        ([], ""),
        (required_access("GET", REPO), f"repository:{REPO}:pull"),
        (required_access("PUT", REPO), f"repository:{REPO}:pull,push"),
        (required_access("DELETE", REPO), f"repository:{REPO}:delete"),
        (required_access("GET", None, catalog=True), "registry:catalog:*"),
        (
            [*required_access("POST", REPO), *required_access("GET", "other/src")],
            f"repository:{REPO}:pull,push repository:other/src:pull",
        ),
        ([Access("repository", REPO, "pull")] * 2, f"repository:{REPO}:pull"),
    ],
    ids=["none", "pull", "push", "delete", "catalog", "two-resources", "dedup"],
)
def test_scope_param_groups_actions_per_resource(needed: list[Access], expected: str) -> None:
    assert scope_param(needed) == expected


GRANTS = grants_from_claim(
    [
        ("repository", REPO, ["pull"]),
        ("repository", REPO, ["push"]),  # merged with the entry above, as Distribution does
        ("repository", "all/mine", ["*"]),
        ("registry", "catalog", ["*"]),
    ]
)


@pytest.mark.parametrize(
    ("access", "allowed"),
    [
        (Access("repository", REPO, "pull"), True),
        (Access("repository", REPO, "push"), True),
        (Access("repository", REPO, "delete"), False),
        (Access("repository", "all/mine", "delete"), True),
        (Access("repository", "all/mine", "anything"), True),
        (Access("repository", "other", "pull"), False),
        (Access("registry", "catalog", "*"), True),
        (Access("registry", REPO, "pull"), False),  # the type is part of the resource
    ],
)
def test_principal_allows(access: Access, allowed: bool) -> None:
    principal = Principal(subject="alice", access=GRANTS)
    assert principal.allows(access) is allowed


def test_principal_without_grants_allows_nothing() -> None:
    assert not Principal(subject="").allows(Access("repository", REPO, "pull"))
