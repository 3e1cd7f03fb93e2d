"""User and group name normalisation: a table of accepted and rejected names."""

from __future__ import annotations

import pytest

from authsvc.names import normalize_group_name, normalize_username


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("alice", "alice"),
        ("Alice", "Alice"),  # case is kept: names are compared exactly
        ("ａｌｉｃｅ", "alice"),  # full-width letters (NFKC)
        ("ﬁona", "fiona"),  # ligature (NFKC)
        ("e\u0301mile", "\u00e9mile"),  # combining accent composes
        ("jörg.müller", "jörg.müller"),
        ("ci-bot_1", "ci-bot_1"),
        ("first last", "first last"),  # inner spaces are fine
        ("a@b", "a@b"),  # only a leading '@' is reserved
        ("é" * 127, "é" * 127),  # 254 bytes
        ("x" * 255, "x" * 255),
    ],
)
def test_accepted_user_names(raw: str, canonical: str) -> None:
    assert normalize_username(raw) == canonical
    assert normalize_username(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "must not be empty"),
        ("@admin", "reserved"),
        ("@anonymous", "reserved"),
        ("\uff20admin", "reserved"),  # full-width '@' becomes '@' under NFKC
        ("al\x00ice", "control character"),
        ("al\nice", "control character"),
        ("al\x7fice", "control character"),
        ("al\x85ice", "control character"),  # C1 control (NEL)
        ("a\u2028b", "control character"),  # line separator
        (" alice", "white space"),
        ("alice\u3000", "white space"),  # ideographic space becomes a plain space
        ("a:b", "must not contain ':'"),
        ("x" * 256, "longer than 255 bytes"),
        ("é" * 128, "longer than 255 bytes"),
    ],
)
def test_rejected_user_names(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_username(raw)


def test_group_names_follow_the_same_rules_but_allow_colons() -> None:
    assert normalize_group_name("ｄｅｖｓ") == "devs"
    assert normalize_group_name("team:a") == "team:a"
    with pytest.raises(ValueError, match="group name '@all' is reserved"):
        normalize_group_name("@all")
    with pytest.raises(ValueError, match="group name must not be empty"):
        normalize_group_name("")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("alice/ci", "'/'"),
        ("alice\u200b", "invisible"),
        ("ali\u202ece", "invisible"),
        ("\u0430lice", "several scripts"),  # Cyrillic а
        ("\u03b1lice", "several scripts"),  # Greek α
    ],
)
def test_user_names_that_could_pass_for_another(name: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_username(name)


@pytest.mark.parametrize("name", ["алиса", "José", "田中さん", "robot$ci", "o'brien", "ＡＬＩＣＥ"])
def test_user_names_people_really_have(name: str) -> None:
    assert normalize_username(name)
