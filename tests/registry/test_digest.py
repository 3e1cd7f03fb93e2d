"""Table tests for registry.digest: parsing, validation and hashing."""

from __future__ import annotations

import hashlib

import pytest

from registry.digest import (
    Digest,
    UnsupportedAlgorithmError,
    new_hasher,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA256_HEX = "a" * 64
SHA512_HEX = "0123456789abcdef" * 8


@pytest.mark.parametrize(
    ("value", "algorithm", "hex_"),
    [
        (f"sha256:{EMPTY_SHA256}", "sha256", EMPTY_SHA256),
        (f"sha256:{SHA256_HEX}", "sha256", SHA256_HEX),
        (f"sha512:{SHA512_HEX}", "sha512", SHA512_HEX),
    ],
)
def test_parse_valid(value: str, algorithm: str, hex_: str) -> None:
    digest = Digest.parse(value)
    assert (digest.algorithm, digest.hex) == (algorithm, hex_)
    assert str(digest) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "expected 'algorithm:hex'"),
        ("sha256", "expected 'algorithm:hex'"),
        ("sha256:", "expected 'algorithm:hex'"),
        (f":{SHA256_HEX}", "expected 'algorithm:hex'"),
        (f"sha256:{SHA256_HEX[:-1]}", "64 lowercase hex"),
        (f"sha256:{SHA256_HEX}a", "64 lowercase hex"),
        (f"sha256:{SHA256_HEX.upper()}", "64 lowercase hex"),
        ("sha256:" + "g" * 64, "64 lowercase hex"),
        (f"sha256:{SHA256_HEX}\n", "64 lowercase hex"),
        ("sha256:../../../../etc/passwd" + "a" * 40, "64 lowercase hex"),
        (f"sha512:{SHA256_HEX}", "128 lowercase hex"),
        (f"SHA256:{SHA256_HEX}", "invalid digest algorithm"),
        (f"sha 256:{SHA256_HEX}", "invalid digest algorithm"),
        (f"../x:{SHA256_HEX}", "invalid digest algorithm"),
    ],
)
def test_parse_invalid(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Digest.parse(value)


@pytest.mark.parametrize("value", [f"md5:{'a' * 32}", f"sha384:{'a' * 96}", "multihash+base58:abc"])
def test_parse_unsupported_algorithm(value: str) -> None:
    with pytest.raises(UnsupportedAlgorithmError, match="unsupported digest algorithm"):
        Digest.parse(value)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError):
        Digest("sha256", "../etc")


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_of_bytes_matches_hashlib(algorithm: str) -> None:
    data = b"hello registry"
    digest = Digest.of_bytes(data, algorithm)
    assert digest == Digest(algorithm, hashlib.new(algorithm, data).hexdigest())


def test_of_empty_bytes() -> None:
    assert str(Digest.of_bytes(b"")) == f"sha256:{EMPTY_SHA256}"


def test_incremental_hasher_equals_one_shot() -> None:
    hasher = new_hasher("sha256")
    for part in (b"abc", b"", b"def" * 1000):
        hasher.update(part)
    assert Digest.from_hasher("sha256", hasher) == Digest.of_bytes(b"abc" + b"def" * 1000)


def test_new_hasher_rejects_unknown() -> None:
    with pytest.raises(UnsupportedAlgorithmError):
        new_hasher("md5")


def test_digests_are_hashable_values() -> None:
    a = Digest.parse(f"sha256:{SHA256_HEX}")
    b = Digest("sha256", SHA256_HEX)
    assert a == b
    assert len({a, b}) == 1
