"""Token signing keys: generate a key and self-signed certificate, load and validate a pair."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from authsvc.libtrust import key_id

Algorithm = Literal["ES256", "RS256"]
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

KEY_FILE = "token.key"
CERT_FILE = "token.crt"
RSA_BITS = 3072
# RFC 7518 §3.3: RS256 needs a key of at least 2048 bits.
MIN_RSA_BITS = 2048


class KeyLoadError(ValueError):
    """The signing key or certificate cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class SigningMaterial:
    """A loaded private key, its certificate chain (leaf first), algorithm and libtrust ID."""

    key: SigningKey
    chain: tuple[x509.Certificate, ...]
    alg: Algorithm
    kid: str


def algorithm_for(key: object) -> Algorithm:
    """Pick the JWS algorithm from the key type: P-256 -> ES256, RSA >= 2048 bits -> RS256."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise KeyLoadError(f"unsupported key type: EC curve {key.curve.name} (only P-256)")
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyLoadError(
                f"unsupported key type: RSA {key.key_size} bits (at least {MIN_RSA_BITS})"
            )
        return "RS256"
    raise KeyLoadError(f"unsupported key type: {type(key).__name__} (use P-256 or RSA)")


def generate_key(alg: Algorithm) -> SigningKey:
    """Generate a P-256 key for ES256 or an RSA-3072 key for RS256."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError(f"unsupported algorithm {alg!r} (ES256 or RS256)")


def self_signed_certificate(
    key: SigningKey,
    *,
    common_name: str = "authsvc token signer",
    days: int = 3650,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """Build a self-signed certificate for ``key``, fit for a registry's ``rootcertbundle``."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def write_key_pair(
    out_dir: Path, key: SigningKey, cert: x509.Certificate, *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write ``token.key`` (PKCS#8 PEM, mode 0600) and ``token.crt`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out_dir / KEY_FILE, out_dir / CERT_FILE
    if not overwrite:
        for path in (key_path, cert_path):
            if path.exists():
                raise FileExistsError(f"{path} already exists; refusing to overwrite it")
    write_atomic(key_path, private_key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return key_path, cert_path


def private_key_pem(key: SigningKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM (the files are protected by their mode, 0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` in one rename, so no reader sees half a file."""
    # The temporary file is created with its final mode, so the key is never world-readable.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None


def load_private_key(path: Path) -> SigningKey:
    """Load a PEM private key (PKCS#8, or traditional RSA/EC) and check that its type is usable."""
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyLoadError(f"signing key {path} is encrypted; give an unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyLoadError(f"signing key {path} is not a PEM private key: {exc}") from None
    try:
        algorithm_for(key)
    except KeyLoadError as exc:
        raise KeyLoadError(f"signing key {path}: {exc}") from None
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


def load_certificates(path: Path) -> tuple[x509.Certificate, ...]:
    """Load one or more PEM certificates from a file (a chain, leaf first)."""
    data = _read(path, "signing certificate")
    try:
        certs = tuple(x509.load_pem_x509_certificates(data))
    except ValueError as exc:
        raise KeyLoadError(f"signing certificate {path} is not PEM X.509: {exc}") from None
    if not certs:
        raise KeyLoadError(f"signing certificate {path} holds no certificate")
    return certs


def _spki(key: object) -> bytes:
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signing_material(
    key_path: Path, cert_path: Path, *, now: dt.datetime | None = None
) -> SigningMaterial:
    """Load and cross-check the signing key and certificate; raise KeyLoadError on any problem."""
    key = load_private_key(key_path)
    chain = load_certificates(cert_path)
    leaf = chain[0]
    try:
        leaf_public = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyLoadError(f"signing certificate {cert_path}: unusable public key: {exc}") from None
    if _spki(leaf_public) != _spki(key.public_key()):
        raise KeyLoadError(
            f"signing key {key_path} does not match the certificate {cert_path} "
            "(the first certificate must be the key's own)"
        )
    # Registries verify x5c with x509 path validation, which rejects expired certificates.
    moment = now or dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= moment:
        raise KeyLoadError(
            f"signing certificate {cert_path} expired on {leaf.not_valid_after_utc:%Y-%m-%d}"
        )
    if leaf.not_valid_before_utc > moment:
        raise KeyLoadError(
            f"signing certificate {cert_path} is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
        )
    return SigningMaterial(
        key=key, chain=chain, alg=algorithm_for(key), kid=key_id(key.public_key())
    )
