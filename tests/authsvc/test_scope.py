"""Scope grammar (distribution docs/spec/auth/scope.md): a table of valid and invalid scopes."""

from __future__ import annotations

import pytest

from authsvc.scope import Scope, ScopeError, format_scope, parse_scope, parse_scopes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:foo:pull", Scope("repository", "foo", ("pull",))),
        ("repository:foo/bar:pull,push", Scope("repository", "foo/bar", ("pull", "push"))),
        ("repository:a/b/c/d:delete", Scope("repository", "a/b/c/d", ("delete",))),
        # The name may carry one host:port part: type before the first ':', actions after the last.
        (
            "repository:localhost:5000/foo/bar:pull",
            Scope("repository", "localhost:5000/foo/bar", ("pull",)),
        ),
        (
            "repository:Registry.Example.com/x:pull",
            Scope("repository", "Registry.Example.com/x", ("pull",)),
        ),
        (
            "repository:my-host.io:443/a/b:push",
            Scope("repository", "my-host.io:443/a/b", ("push",)),
        ),
        # The resource class is accepted and ignored.
        ("repository(plugin):foo:pull", Scope("repository", "foo", ("pull",))),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
        ("repository:a.b_c__d-e---f/x:pull", Scope("repository", "a.b_c__d-e---f/x", ("pull",))),
        # Repeated and empty actions collapse; order is kept.
        ("repository:foo:push,pull,push", Scope("repository", "foo", ("push", "pull"))),
        ("repository:foo:pull,,push,", Scope("repository", "foo", ("pull", "push"))),
        ("repository:foo:unknownaction", Scope("repository", "foo", ("unknownaction",))),
        ("repository:" + "a" * 255 + ":pull", Scope("repository", "a" * 255, ("pull",))),
    ],
)
def test_valid_scopes(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected type:name:actions"),
        ("repository", "expected type:name:actions"),
        ("repository:foo", "expected type:name:actions"),
        ("repository::pull", "invalid resource name"),
        (":foo:pull", "invalid resource type"),
        ("Repository:foo:pull", "invalid resource type"),
        ("repository(:foo:pull", "invalid resource type"),
        ("repository(Plugin):foo:pull", "invalid resource type"),
        ("repository:Foo:pull", "invalid resource name"),
        ("repository:foo/:pull", "invalid resource name"),
        ("repository:/foo:pull", "invalid resource name"),
        ("repository:foo//bar:pull", "invalid resource name"),
        ("repository:-foo:pull", "invalid resource name"),
        ("repository:foo:bar:pull", "invalid resource name"),
        ("repository:localhost:5000:pull", "invalid resource name"),
        ("repository:host:port/foo:pull", "invalid resource name"),
        ("repository:" + "a" * 256 + ":pull", "invalid resource name"),
        ("repository:foo:", "no actions"),
        ("repository:foo:,", "no actions"),
        ("repository:foo:PULL", "invalid action"),
        ("repository:foo:pu ll", "invalid action"),
        ("repository:foo:pull;push", "invalid action"),
        ("repository:foo:**", "invalid action"),
    ],
)
def test_invalid_scopes(text: str, problem: str) -> None:
    with pytest.raises(ScopeError, match=problem):
        parse_scope(text)


def test_scope_error_is_a_value_error() -> None:
    assert issubclass(ScopeError, ValueError)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], []),
        ([""], []),
        (["  "], []),
        (["repository:a:pull"], ["repository:a:pull"]),
        (
            ["repository:a:pull repository:b:push", "registry:catalog:*"],
            ["repository:a:pull", "repository:b:push", "registry:catalog:*"],
        ),
        (["repository:a:pull  repository:a:push"], ["repository:a:pull", "repository:a:push"]),
    ],
)
def test_parse_scopes_splits_on_spaces(values: list[str], expected: list[str]) -> None:
    assert [format_scope(s) for s in parse_scopes(values)] == expected


def test_one_bad_scope_fails_the_lot() -> None:
    with pytest.raises(ScopeError, match="'repository:B:pull'"):
        parse_scopes(["repository:a:pull repository:B:pull"])


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("repository:foo:pull,push", "repository:foo:pull,push"),
        ("repository(plugin):localhost:5000/x:pull", "repository:localhost:5000/x:pull"),
        ("registry:catalog:*", "registry:catalog:*"),
    ],
)
def test_format_scope_round_trips(text: str, formatted: str) -> None:
    scope = parse_scope(text)
    assert format_scope(scope) == formatted
    assert parse_scope(format_scope(scope)) == scope
