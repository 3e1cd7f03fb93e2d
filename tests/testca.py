"""A throwaway certificate authority for tests that need TLS peers (slapd, an OpenID provider).

``write_server_pki(directory, name)`` writes ``ca.pem`` (the CA certificate a client trusts),
``server.pem`` and ``server.key`` (a leaf for ``localhost`` and 127.0.0.1, signed by that CA),
all valid for one day. Keys are EC P-256 and made fresh on every call: nothing is committed.

Tests that need more than one leaf from the same CA (a renewed server certificate, client
certificates for mutual TLS) make a ``TestCa`` and call ``issue`` on it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ServerPki:
    """Where the CA certificate and the server's certificate and key were written."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True)
class Leaf:
    """A certificate signed by a ``TestCa`` and its private key, as PEM files."""

    cert: Path
    key: Path
    serial: int


def _certificate(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = serialization.Encoding.PEM
    path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


class TestCa:
    """A CA whose key stays in memory; its certificate is written to ``cert``."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(self, cert: Path, name: str) -> None:
        """Make the CA key and a self-signed CA certificate named after ``name``."""
        cert.parent.mkdir(parents=True, exist_ok=True)
        self.cert = cert
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        ca = (
            _certificate(self._name, self._name, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(
        self, cert: Path, key: Path, *, client: str | None = None, names: Sequence[str] = ()
    ) -> Leaf:
        """A server leaf for ``localhost``/127.0.0.1 and ``names``, or with ``client`` a client
        leaf of that common name (extended key usage clientAuth, as mutual TLS servers check)."""
        cert.parent.mkdir(parents=True, exist_ok=True)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        common_name = client or "localhost"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = _certificate(subject, self._name, leaf_key.public_key())
        if client is None:
            alt_names: list[x509.GeneralName] = [
                x509.DNSName(name) for name in ("localhost", *names)
            ]
            alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        leaf = builder.sign(self._key, hashes.SHA256())
        cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
        _write_key(key, leaf_key)
        return Leaf(cert, key, leaf.serial_number)


def write_server_pki(directory: Path, name: str) -> ServerPki:
    """A new CA named after ``name`` and a ``localhost``/127.0.0.1 server certificate."""
    ca = TestCa(directory / "ca.pem", name)
    leaf = ca.issue(directory / "server.pem", directory / "server.key")
    return ServerPki(ca.cert, leaf.cert, leaf.key)
