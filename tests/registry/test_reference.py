"""Table tests for registry.reference: repository names, tags and digest references."""

from __future__ import annotations

import pytest

from registry.reference import (
    NAME_MAX_LENGTH,
    is_digest,
    is_name,
    is_tag,
    validate_name,
    validate_tag,
)


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "library/alpine",
        "foo/bar/baz",
        "a0/b1/c2",
        "my.app",
        "my_app",
        "my__app",
        "my-app",
        "my---app",
        "a.b_c__d-e",
        "0",
        "x" * NAME_MAX_LENGTH,
        "/".join(["ab"] * 85),  # 254 characters
    ],
)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name
    assert is_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("x" * (NAME_MAX_LENGTH + 1), "longer than 255"),
        ("/".join(["ab"] * 86), "longer than 255"),
        ("Foo", "invalid repository name"),
        ("foo/Bar", "invalid repository name"),
        ("..", "invalid repository name"),
        ("foo/..", "invalid repository name"),
        ("../foo", "invalid repository name"),
        ("foo/../bar", "invalid repository name"),
        (".", "invalid repository name"),
        ("foo/./bar", "invalid repository name"),
        ("a//b", "invalid repository name"),
        ("/foo", "invalid repository name"),
        ("foo/", "invalid repository name"),
        ("%2e%2e", "invalid repository name"),
        ("foo/%2e%2e/bar", "invalid repository name"),
        ("foo%2fbar", "invalid repository name"),
        ("_manifests", "invalid repository name"),
        ("foo/_layers", "invalid repository name"),
        (".hidden", "invalid repository name"),
        ("foo.", "invalid repository name"),
        ("foo-", "invalid repository name"),
        ("foo___bar", "invalid repository name"),
        ("foo._bar", "invalid repository name"),
        ("foo bar", "invalid repository name"),
        ("foo\\bar", "invalid repository name"),
        ("foo\nbar", "invalid repository name"),
        ("foo\x00", "invalid repository name"),
        ("café", "invalid repository name"),
        ("foo:5000/bar", "invalid repository name"),
        ("foo@sha256", "invalid repository name"),
    ],
)
def test_invalid_names(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_name(name)
    assert not is_name(name)


@pytest.mark.parametrize(
    "tag", ["latest", "v1.0.0", "1", "_", "A_b-C.d", "x" * 128, "v1..2", "__init"]
)
def test_valid_tags(tag: str) -> None:
    assert is_tag(tag)
    assert validate_tag(tag) == tag


@pytest.mark.parametrize(
    "tag",
    ["", ".latest", "-v1", "x" * 129, "a/b", "..", ".", "a:b", "a b", "tag\n", "täg", "%2e%2e"],
)
def test_invalid_tags(tag: str) -> None:
    assert not is_tag(tag)
    with pytest.raises(ValueError, match="invalid tag"):
        validate_tag(tag)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sha256:" + "a" * 64, True),
        ("sha512:" + "0" * 128, True),
        ("sha256:" + "A" * 32, True),  # shape only; Digest.parse enforces the rest
        ("sha256:" + "a" * 31, False),
        ("latest", False),
        ("sha256", False),
        (":" + "a" * 64, False),
        ("1sha:" + "a" * 64, False),
    ],
)
def test_is_digest(value: str, expected: bool) -> None:
    assert is_digest(value) is expected
