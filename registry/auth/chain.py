"""X.509 chain verification for the `x5c` token header, as Distribution 2.8 does it.

Distribution calls Go's `x509.Certificate.Verify` with the rootcertbundle as the root pool,
the rest of `x5c` as intermediates and any extended key usage. This module keeps the parts
of that algorithm that decide the outcome for token certificates:

- a leaf that is itself a bundle certificate (byte-equal) is trusted as is;
- otherwise a path leaf -> intermediates* -> bundle certificate must exist in which each
  certificate is signed by the next, and each signer may sign certificates (RFC 5280
  §4.2.1.9 basicConstraints cA, §4.2.1.3 keyCertSign when keyUsage is present);
- every certificate on the path is inside its validity period (RFC 5280 §4.1.2.5);
- a signer's pathLenConstraint bounds the intermediates below it (RFC 5280 §4.2.1.9).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

# Go's verifier bounds its search too (maxChainSignatureChecks); chains are short in practice.
_MAX_DEPTH = 8


class ChainError(Exception):
    """The x5c chain does not lead to a trusted certificate."""


def _subject_key(cert: x509.Certificate) -> bytes:
    return cert.subject.public_bytes()


def _issuer_key(cert: x509.Certificate) -> bytes:
    return cert.issuer.public_bytes()


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def in_validity(cert: x509.Certificate, now: datetime) -> bool:
    """True if `now` lies within the certificate's notBefore..notAfter."""
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


def _may_sign(parent: x509.Certificate, *, intermediate: bool) -> bool:
    """RFC 5280 §4.2.1.9/§4.2.1.3 checks on a certificate that signs another."""
    try:
        constraints = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        # Go accepts a v1 root without extensions (they predate basicConstraints), never a
        # v3 signer without them, and never an intermediate without cA.
        return parent.version == x509.Version.v1 and not intermediate
    if not constraints.ca:
        return False
    try:
        usage = parent.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.key_cert_sign


def _path_len_ok(parent: x509.Certificate, intermediates_below: int) -> bool:
    try:
        constraints = parent.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return True
    limit = constraints.path_length
    return limit is None or intermediates_below <= limit


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        # ValueError: issuer name mismatch or unsupported signature algorithm.
        return False
    return True


class RootPool:
    """The trusted certificates of the rootcertbundle, indexed for chain building."""

    def __init__(self, roots: Sequence[x509.Certificate]) -> None:
        self._der = {_der(cert) for cert in roots}
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for cert in roots:
            self._by_subject.setdefault(_subject_key(cert), []).append(cert)

    def contains(self, cert: x509.Certificate) -> bool:
        """True if this exact certificate (byte for byte) is in the bundle."""
        return _der(cert) in self._der

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        """Bundle certificates whose subject is the certificate's issuer."""
        return self._by_subject.get(_issuer_key(cert), [])

    def verify(self, chain: Sequence[x509.Certificate], now: datetime) -> x509.Certificate:
        """Return the leaf if `chain` (leaf first) verifies up to a bundle certificate."""
        if not chain:
            raise ChainError("empty x509 certificate chain")
        leaf = chain[0]
        if not in_validity(leaf, now):
            raise ChainError("leaf certificate is expired or not yet valid")
        if self.contains(leaf):
            return leaf
        intermediates: dict[bytes, list[x509.Certificate]] = {}
        for cert in chain[1:]:
            intermediates.setdefault(_subject_key(cert), []).append(cert)
        if not self._build([leaf], intermediates, now):
            raise ChainError("certificate chain does not verify up to a trusted certificate")
        return leaf

    def _build(
        self,
        path: list[x509.Certificate],
        intermediates: dict[bytes, list[x509.Certificate]],
        now: datetime,
    ) -> bool:
        """Depth-first search for a signer path from path[-1] to a bundle certificate."""
        current = path[-1]
        below = len(path) - 1  # intermediates already on the path
        for root in self.issuers_of(current):
            if self._acceptable(current, root, below, now, intermediate=False):
                return True
        if len(path) >= _MAX_DEPTH:
            return False
        for candidate in intermediates.get(_issuer_key(current), []):
            if any(_der(candidate) == _der(seen) for seen in path):
                continue
            if self._acceptable(current, candidate, below, now, intermediate=True) and self._build(
                [*path, candidate], intermediates, now
            ):
                return True
        return False

    @staticmethod
    def _acceptable(
        child: x509.Certificate,
        parent: x509.Certificate,
        below: int,
        now: datetime,
        *,
        intermediate: bool,
    ) -> bool:
        return (
            in_validity(parent, now)
            and _may_sign(parent, intermediate=intermediate)
            and _path_len_ok(parent, below)
            and _signed_by(child, parent)
        )
