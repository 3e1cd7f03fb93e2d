"""Personal access token secrets and scope caps: pure code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authsvc import pats
from authsvc.caps import CapError, capped_actions, format_caps, parse_caps
from authsvc.scope import Scope


def test_new_secrets_are_well_formed_and_distinct() -> None:
    secrets = {pats.new_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert secret.startswith("asvc_pat_") and len(secret) == pats.SECRET_LENGTH
        assert pats.well_formed(secret)


BODIES = st.text(alphabet=pats.ALPHABET, min_size=pats.BODY_LENGTH, max_size=pats.BODY_LENGTH)


@given(BODIES, st.integers(min_value=0, max_value=pats.BODY_LENGTH + 5), st.sampled_from("aZ09"))
def test_any_single_typo_is_caught_by_the_checksum(body: str, position: int, char: str) -> None:
    secret = pats.PREFIX + body + pats.checksum(body)
    assert pats.well_formed(secret)
    index = len(pats.PREFIX) + position
    typo = secret[:index] + char + secret[index + 1 :]
    assert pats.well_formed(typo) == (typo == secret)


@pytest.mark.parametrize(
    "text",
    ["", "asvc_pat_", "asvc_pat_short", "ghp_" + "a" * 36, "asvc_pat_" + "!" * 38],
)
def test_malformed_secrets(text: str) -> None:
    assert not pats.well_formed(text)


def test_the_stored_hash_is_keyed() -> None:
    secret = pats.new_secret()
    assert pats.hash_secret(secret, b"k1") != pats.hash_secret(secret, b"k2")
    assert secret not in pats.hash_secret(secret)


def test_caps_intersect_with_what_was_granted() -> None:
    caps = parse_caps(["repository:team/*:pull,push", "repository:shared/base:pull"])
    assert format_caps(caps) == "repository:team/*:pull,push repository:shared/base:pull"
    push_pull = ("pull", "push")
    assert capped_actions(caps, Scope("repository", "team/app", push_pull), push_pull) == push_pull
    assert capped_actions(caps, Scope("repository", "shared/base", push_pull), push_pull) == (
        "pull",
    )
    assert capped_actions(caps, Scope("repository", "other/app", push_pull), push_pull) == ()
    # A cap never adds: nothing granted stays nothing.
    assert capped_actions(caps, Scope("repository", "team/app", push_pull), ()) == ()
    catalog = parse_caps(["registry:catalog:*"])
    assert capped_actions(catalog, Scope("registry", "catalog", ("*",)), ("*",)) == ("*",)


@pytest.mark.parametrize(
    "text", ["", "repository", "repository:team/*", "repository:team/*:fly", "re po:x:pull"]
)
def test_bad_caps(text: str) -> None:
    with pytest.raises(CapError):
        parse_caps([text])
