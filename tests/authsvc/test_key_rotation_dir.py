"""``authsvc keys rotate --dir DIR`` through the real CLI, and what a server on DIR publishes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from authsvc.cli import main
from authsvc.config import load_config
from authsvc.jwk import published_jwks
from authsvc.keys import load_certificates, load_signing_material
from authsvc.libtrust import key_id


def kids(path: Path) -> list[str]:
    return [key_id(cert.public_key()) for cert in load_certificates(path)]  # type: ignore[arg-type]


def active_kid(directory: Path) -> str:
    return load_signing_material(directory / "token.key", directory / "token.crt").kid


def rotate(directory: Path, *extra: str) -> None:
    assert main(["keys", "rotate", "--dir", str(directory), *extra]) == 0


def test_each_rotation_promotes_a_key_that_was_published_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "generate", "--out", str(keys)]) == 0
    first = active_kid(keys)

    rotate(keys)  # nothing to promote yet: only a next key, published
    assert active_kid(keys) == first
    upcoming = kids(keys / "next.crt")[0]
    assert kids(keys / "published.crt") == [upcoming]
    assert stat.S_IMODE((keys / "next.key").stat().st_mode) == 0o600
    assert "no next key to promote yet" in capsys.readouterr().out

    rotate(keys)  # the published next key signs; the old one stays published
    assert active_kid(keys) == upcoming
    newer = kids(keys / "next.crt")[0]
    assert kids(keys / "published.crt") == [newer, first]

    rotate(keys)
    newest = kids(keys / "next.crt")[0]
    assert active_kid(keys) == newer
    assert kids(keys / "published.crt") == [newest, upcoming, first]

    rotate(keys, "--keep", "1")  # older previous keys leave the published set
    out = capsys.readouterr().out
    assert active_kid(keys) == newest
    assert kids(keys / "published.crt")[1:] == [newer]
    assert f"dropped:   {first}" in out and f"dropped:   {upcoming}" in out


def test_a_server_configured_on_the_directory_publishes_active_next_and_previous(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    assert main(["keys", "generate", "--out", str(keys), "--alg", "RS256"]) == 0
    rotate(keys)
    rotate(keys, "--alg", "ES256")
    config = load_config(
        None,
        {
            "AUTHSVC_SIGNING_KEY": str(keys / "token.key"),
            "AUTHSVC_SIGNING_CERT": str(keys / "token.crt"),
            "AUTHSVC_PUBLISHED_CERTS": str(keys / "published.crt"),
        },
    )
    material = load_signing_material(config.token.signing_key, config.token.signing_cert)
    assert material.alg == "RS256"  # the next key was made with the active key's algorithm
    assert config.token.published_certs is not None
    published = load_certificates(config.token.published_certs)
    jwks = published_jwks(material.key.public_key(), published, "libtrust")
    assert [k["kty"] for k in jwks["keys"]] == ["RSA", "EC", "RSA"]
    assert isinstance(published[0], x509.Certificate)


def test_rotation_refuses_a_directory_without_an_active_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "--dir", str(tmp_path)]) == 1
    assert "active key" in capsys.readouterr().err
    assert not (tmp_path / "next.key").exists()
