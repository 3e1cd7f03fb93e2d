"""svckit.settings: the value parsers both services share."""

from __future__ import annotations

import pytest

from svckit.settings import SettingError, parse_bool, parse_duration, parse_hostport


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("t", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("f", False),
        ("no", False),
        ("off", False),
        ("", False),
        ("  true ", True),
    ],
)
def test_parse_bool(raw: object, expected: bool) -> None:
    assert parse_bool(raw, "x") is expected


@pytest.mark.parametrize("raw", ["maybe", "2", "ja", 5])
def test_parse_bool_rejects_other_values_naming_the_setting(raw: object) -> None:
    with pytest.raises(SettingError, match=r"^SOME_VAR: expected true or false"):
        parse_bool(raw, "SOME_VAR")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:5000", ("127.0.0.1", 5000)),
        (":5000", ("0.0.0.0", 5000)),
        ("[::1]:5001", ("::1", 5001)),
        ("localhost:0", ("localhost", 0)),
        ("example.com:65535", ("example.com", 65535)),
    ],
)
def test_parse_hostport(raw: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(raw, "listen") == expected


@pytest.mark.parametrize(
    "raw", ["5000", "host:", "host:port", "host:65536", "::1:5000", "[::1:5000", "h:-1", "h:٣"]
)
def test_parse_hostport_rejects(raw: str) -> None:
    with pytest.raises(SettingError, match=r"^listen: "):
        parse_hostport(raw, "listen")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("90", 90.0),
        (90, 90.0),
        (1.5, 1.5),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("168h", 604800.0),
        ("90d", 90 * 86400.0),
        ("10m", 600.0),
    ],
)
def test_parse_duration(raw: object, expected: float) -> None:
    assert parse_duration(raw, "ttl") == pytest.approx(expected)


@pytest.mark.parametrize("raw", ["", "soon", "10 m", "-5", "5x", True, "0", 0])
def test_parse_duration_rejects(raw: object) -> None:
    with pytest.raises(SettingError, match=r"^ttl: "):
        parse_duration(raw, "ttl")


def test_parse_duration_zero_where_it_means_off() -> None:
    assert parse_duration("0", "ttl", allow_zero=True) == 0.0
