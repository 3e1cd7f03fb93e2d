"""The registry's libtrust key ID (docker/libtrust `keyIDFromCryptoKey`) against fixed vectors."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from registry.auth.libtrust import key_id

# The P-256 key whose private value is 1: its public key is the curve's generator point, so
# anyone can rebuild this vector without a key file; authsvc's key IDs are tested against it too.
VECTOR_ID = "LTJF:F6YM:5CJS:INX2:7DGN:CBAJ:QG4J:5ZFN:NOP6:TYVC:W7TR:VLFS"
ID_RE = re.compile(r"(?:[A-Z2-7]{4}:){11}[A-Z2-7]{4}")


def test_vector_p256_private_value_one() -> None:
    key = ec.derive_private_key(1, ec.SECP256R1())
    assert key_id(key.public_key()) == VECTOR_ID


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()).public_key(),
        lambda: ec.generate_private_key(ec.SECP521R1()).public_key(),
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
    ],
    ids=["P-384", "P-521", "RSA"],
)
def test_format_is_twelve_base32_groups(make: Callable[[], PublicKeyTypes]) -> None:
    kid = key_id(make())
    assert ID_RE.fullmatch(kid), kid


def test_distinct_keys_have_distinct_ids() -> None:
    a = ec.generate_private_key(ec.SECP256R1()).public_key()
    b = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert key_id(a) != key_id(b)
    assert key_id(a) == key_id(a)
