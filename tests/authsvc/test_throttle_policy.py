"""The pure parts of throttling: the delay schedule and the client address."""

from __future__ import annotations

import pytest

from authsvc.authn.throttle import block_delay, throttle_name
from authsvc.netaddr import client_address, parse_networks


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0), (5, 0), (6, 1), (7, 2), (8, 4), (15, 512), (16, 900), (10_000, 900)],
)
def test_free_then_doubling_then_capped(failures: int, expected: float) -> None:
    assert block_delay(failures, 5, 1, 900) == expected


@pytest.mark.parametrize(("free", "base", "cap"), [(0, 1, 900), (5, 0, 900), (5, 1, 0)])
def test_any_zero_turns_it_off(free: int, base: float, cap: float) -> None:
    assert block_delay(1000, free, base, cap) == 0


def test_names_are_counted_as_logins_see_them() -> None:
    assert throttle_name("ａｌｉｃｅ") == "alice"  # NFKC, as the user table has it
    assert throttle_name("x" * 5000) == "x" * 255


PROXIES = parse_networks(["10.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("192.0.2.1", ["203.0.113.9"], (), "192.0.2.1"),  # nobody trusted: header ignored
        ("192.0.2.1", ["203.0.113.9"], PROXIES, "192.0.2.1"),  # peer is not a proxy
        ("10.1.1.1", ["203.0.113.9"], PROXIES, "203.0.113.9"),
        ("10.1.1.1", [], PROXIES, "10.1.1.1"),
        # The client prepends a forged hop; the right-most untrusted one is believed.
        ("10.1.1.1", ["1.2.3.4, 203.0.113.9, 10.2.2.2"], PROXIES, "203.0.113.9"),
        ("10.1.1.1", ["1.2.3.4", "203.0.113.9"], PROXIES, "203.0.113.9"),
        ("10.1.1.1", ["garbage"], PROXIES, "10.1.1.1"),
        ("10.1.1.1", ["203.0.113.9:4711"], PROXIES, "203.0.113.9"),
        ("::1", ["[2001:db8::1]:443"], PROXIES, "2001:db8::1"),
        ("::ffff:192.0.2.7", [], PROXIES, "192.0.2.7"),
        (None, ["203.0.113.9"], PROXIES, "unknown"),
    ],
)
def test_client_address(peer: str | None, xff: list[str], trusted: tuple, expected: str) -> None:
    assert client_address(peer, xff, trusted) == expected
