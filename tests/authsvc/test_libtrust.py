"""The libtrust key ID against a fixed vector and its shape for generated keys."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authsvc.libtrust import key_id

KID_RE = re.compile(r"^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$")


def test_vector_p256_private_value_one() -> None:
    # A fixed vector, which tests/registry/test_libtrust.py checks too, so the IDs the two
    # services compute cannot drift apart: the P-256 key whose private scalar is 1 (public
    # point = the generator G).
    public = ec.derive_private_key(1, ec.SECP256R1()).public_key()
    assert key_id(public) == "LTJF:F6YM:5CJS:INX2:7DGN:CBAJ:QG4J:5ZFN:NOP6:TYVC:W7TR:VLFS"


def test_private_value_two_differs() -> None:
    one = key_id(ec.derive_private_key(1, ec.SECP256R1()).public_key())
    two = key_id(ec.derive_private_key(2, ec.SECP256R1()).public_key())
    assert one != two
    assert KID_RE.match(two)


@pytest.mark.parametrize(
    "key",
    [
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
    ],
    ids=["p256", "rsa2048"],
)
def test_shape_is_12_groups_of_4_base32(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> None:
    kid = key_id(key)
    assert len(kid) == 48 + 11
    assert KID_RE.match(kid), kid
