"""Signing keys: generation, file modes, and every way loading a key/cert pair can fail."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authsvc.keys import (
    CERT_FILE,
    KEY_FILE,
    Algorithm,
    KeyLoadError,
    algorithm_for,
    generate_key,
    load_signing_material,
    self_signed_certificate,
    write_key_pair,
)
from authsvc.libtrust import key_id


def make_pair(
    directory: Path, alg: Algorithm = "ES256", **cert_kwargs: object
) -> tuple[Path, Path]:
    key = generate_key(alg)
    cert = self_signed_certificate(key, **cert_kwargs)  # type: ignore[arg-type]
    return write_key_pair(directory, key, cert)


@pytest.mark.parametrize(
    ("alg", "key_type", "size"),
    [("ES256", ec.EllipticCurvePrivateKey, 256), ("RS256", rsa.RSAPrivateKey, 3072)],
)
def test_generate_write_and_load(tmp_path: Path, alg: Algorithm, key_type: type, size: int) -> None:
    key_path, cert_path = make_pair(tmp_path, alg)
    assert (key_path.name, cert_path.name) == (KEY_FILE, CERT_FILE)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8
    material = load_signing_material(key_path, cert_path)
    assert isinstance(material.key, key_type)
    assert material.key.key_size == size
    assert material.alg == alg
    assert material.kid == key_id(material.key.public_key())
    assert len(material.chain) == 1
    cert = material.chain[0]
    assert cert.issuer == cert.subject
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is False


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    key_path, _ = make_pair(tmp_path)
    before = key_path.read_bytes()
    key = generate_key("ES256")
    with pytest.raises(FileExistsError):
        write_key_pair(tmp_path, key, self_signed_certificate(key))
    assert key_path.read_bytes() == before
    write_key_pair(tmp_path, key, self_signed_certificate(key), overwrite=True)
    assert key_path.read_bytes() != before


def test_mismatched_pair(tmp_path: Path) -> None:
    key_a, _ = make_pair(tmp_path / "a")
    _, cert_b = make_pair(tmp_path / "b")
    with pytest.raises(KeyLoadError, match="does not match the certificate"):
        load_signing_material(key_a, cert_b)


def test_unreadable_files(tmp_path: Path) -> None:
    key_path, cert_path = make_pair(tmp_path)
    with pytest.raises(KeyLoadError, match="cannot read the signing key"):
        load_signing_material(tmp_path / "missing.key", cert_path)
    with pytest.raises(KeyLoadError, match="cannot read the signing certificate"):
        load_signing_material(key_path, tmp_path / "missing.crt")


def test_garbage_files(tmp_path: Path) -> None:
    key_path, cert_path = make_pair(tmp_path)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a pem file\n")
    with pytest.raises(KeyLoadError, match="is not a PEM private key"):
        load_signing_material(junk, cert_path)
    with pytest.raises(KeyLoadError, match=r"signing certificate .* (not PEM|holds no)"):
        load_signing_material(key_path, junk)


def test_encrypted_key_is_refused(tmp_path: Path) -> None:
    key = generate_key("ES256")
    path = tmp_path / "enc.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    cert = tmp_path / "enc.crt"
    cert.write_bytes(self_signed_certificate(key).public_bytes(serialization.Encoding.PEM))
    with pytest.raises(KeyLoadError, match="encrypted"):
        load_signing_material(path, cert)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (ec.generate_private_key(ec.SECP384R1()), "EC curve secp384r1"),
        (rsa.generate_private_key(public_exponent=65537, key_size=1024), "RSA 1024 bits"),
        (ed25519.Ed25519PrivateKey.generate(), "Ed25519PrivateKey"),
    ],
    ids=["p384", "rsa1024", "ed25519"],
)
def test_unsupported_key_types(tmp_path: Path, key: object, message: str) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(
        key.private_bytes(  # type: ignore[attr-defined]
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyLoadError, match=f"unsupported key type: .*{message}"):
        load_signing_material(path, tmp_path / "unused.crt")
    with pytest.raises(KeyLoadError):
        algorithm_for(key)


def test_expired_certificate_is_refused(tmp_path: Path) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    key_path, cert_path = make_pair(tmp_path, days=10, now=past)
    with pytest.raises(KeyLoadError, match="expired on"):
        load_signing_material(key_path, cert_path)


def test_chain_file_keeps_every_certificate(tmp_path: Path) -> None:
    key_path, cert_path = make_pair(tmp_path)
    _, other = make_pair(tmp_path / "other")
    own_pem, other_pem = cert_path.read_bytes(), other.read_bytes()
    cert_path.write_bytes(own_pem + other_pem)
    material = load_signing_material(key_path, cert_path)
    assert len(material.chain) == 2
    # The first certificate must be the key's own; a chain in the other order is refused.
    cert_path.write_bytes(other_pem + own_pem)
    with pytest.raises(KeyLoadError, match="does not match"):
        load_signing_material(key_path, cert_path)
