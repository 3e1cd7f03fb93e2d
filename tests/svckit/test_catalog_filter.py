"""The catalog-filter claim shared by authsvc and the registry: wire form and matching."""

from __future__ import annotations

import pytest

from svckit.catalog_filter import CatalogFilter


def test_first_match_within_a_list_and_every_list_must_show() -> None:
    found = CatalogFilter.from_claim([["-team/secret", "+team/.*"], ["+team/.*", "+b"]])
    assert found.shows("team/app")
    assert not found.shows("team/secret")  # hidden by the first list's first match
    assert not found.shows("b")  # the first list matches nothing: hidden
    assert not found.shows("team")  # patterns match the whole name
    assert found.to_claim() == [["-team/secret", "+team/.*"], ["+team/.*", "+b"]]
    assert found.claim_size() == len('[["-team/secret","+team/.*"],["+team/.*","+b"]]')


def test_no_lists_shows_everything_and_an_empty_list_nothing() -> None:
    assert CatalogFilter(()).shows("x")
    assert not CatalogFilter(((),)).shows("x")


@pytest.mark.parametrize(
    "value", [None, "+.*", ["+.*"], [["team/.*"]], [[1]], [["+("]], {"lists": []}]
)
def test_malformed_claims_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        CatalogFilter.from_claim(value)
