"""Password hashing: argon2id, bcrypt upgrade, parameter upgrade, unknown users, no leaks."""

from __future__ import annotations

import bcrypt
import pytest

from authsvc.config import PasswordConfig
from authsvc.passwords import (
    PasswordHasher,
    VerifyResult,
    check_new_password,
    generate_password,
    is_bcrypt_hash,
)

CHEAP = PasswordConfig(argon2_memory_cost=1024, argon2_time_cost=1, argon2_parallelism=1)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def _bcrypt(password: bytes, ident: bytes = b"2b") -> str:
    hashed = bcrypt.hashpw(password, bcrypt.gensalt(4))
    return (b"$" + ident + hashed[3:]).decode()


def test_new_hashes_are_argon2id_with_the_configured_cost(hasher: PasswordHasher) -> None:
    hashed = hasher.hash("s3cret")
    assert hashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert hasher.hash("s3cret") != hashed  # salted
    assert hasher.verify("s3cret", hashed) == VerifyResult(True, None)
    assert hasher.verify("S3cret", hashed) == VerifyResult(False, None)


def test_other_argon2_parameters_are_upgraded(hasher: PasswordHasher) -> None:
    old = PasswordHasher(PasswordConfig(argon2_memory_cost=2048, argon2_time_cost=1)).hash("pw")
    result = hasher.verify("pw", old)
    assert result.ok and result.new_hash is not None
    assert result.new_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert hasher.verify("pw", result.new_hash) == VerifyResult(True, None)
    assert hasher.verify("wrong", old) == VerifyResult(False, None)


@pytest.mark.parametrize("ident", [b"2a", b"2b", b"2y"])
def test_bcrypt_verifies_and_is_rehashed_to_argon2id(hasher: PasswordHasher, ident: bytes) -> None:
    stored = _bcrypt(b"htpasswd-pw", ident)
    result = hasher.verify("htpasswd-pw", stored)
    assert result.ok and result.new_hash is not None
    assert result.new_hash.startswith("$argon2id$")
    assert hasher.verify("htpasswd-pw", result.new_hash).ok
    assert hasher.verify("other", stored) == VerifyResult(False, None)


def test_bcrypt_sees_only_72_bytes_like_htpasswd(hasher: PasswordHasher) -> None:
    password = "ü" * 40  # 80 bytes of UTF-8
    stored = _bcrypt(password.encode()[:72])
    result = hasher.verify(password, stored)
    assert result.ok and result.new_hash is not None
    # The argon2id replacement covers the whole password, not the truncated prefix.
    assert hasher.verify(password, result.new_hash).ok
    assert not hasher.verify(password[:36], result.new_hash).ok


def test_unknown_user_runs_a_verify_of_the_same_kind(hasher: PasswordHasher) -> None:
    assert hasher.verify("anything", None) == VerifyResult(False, None)
    # The dummy hash is a real argon2id hash with the configured parameters, so verifying
    # against it costs what verifying a real user's hash costs.
    dummy: str = hasher._dummy_hash
    assert dummy.rsplit("$", 2)[0] == hasher.hash("x").rsplit("$", 2)[0]


@pytest.mark.parametrize(
    "stored", ["", "garbage", "$apr1$abcdefgh$0123456789abcdefghijkl", "{SHA}abc", "$argon2id$x"]
)
def test_unreadable_hashes_never_match(hasher: PasswordHasher, stored: str) -> None:
    assert hasher.verify("pw", stored) == VerifyResult(False, None)


def test_no_secrets_in_reprs(hasher: PasswordHasher) -> None:
    new_hash = hasher.hash("pw")
    assert new_hash not in repr(VerifyResult(True, new_hash))
    assert "argon2id$" not in repr(hasher)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$2y$05$" + "a" * 53, True),
        ("$2b$12$" + "./" * 26 + "A", True),
        ("$2a$31$" + "a" * 53, True),
        ("$2x$05$" + "a" * 53, False),
        ("$2y$5$" + "a" * 53, False),
        ("$2y$32$" + "a" * 53, False),
        ("$2y$05$" + "a" * 52, False),
        ("$2y$05$" + "a" * 52 + "!", False),
        ("$apr1$abcdefgh$0123456789abcdefghijkl", False),
        ("", False),
    ],
)
def test_is_bcrypt_hash(value: str, expected: bool) -> None:
    assert is_bcrypt_hash(value) is expected


def test_new_password_rules() -> None:
    check_new_password("x")
    check_new_password("p" * 1024)
    with pytest.raises(ValueError, match="must not be empty"):
        check_new_password("")
    with pytest.raises(ValueError, match="longer than 1024"):
        check_new_password("p" * 1025)
    first, second = generate_password(), generate_password()
    assert first != second and len(first) == 24
