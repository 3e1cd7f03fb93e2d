"""``authsvc keys rotate``: the files of a key directory, moved one step along.

A key directory holds the active pair (``token.key``/``token.crt``), the next pair
(``next.key``/``next.crt``), the certificates of previous keys (``previous/``) and
``published.crt``: the next certificate and the previous ones, the file
``AUTHSVC_PUBLISHED_CERTS`` names. Registries trust the active key and everything published
(``authsvc keys bundle`` / ``keys jwks``), so:

- the next key is in the registries' trust before it signs anything: a rotation promotes a key
  that an earlier rotation made and published, and the operator gave the registries the new
  bundle in between;
- the previous key stays published after it stops signing, so tokens it signed keep verifying
  until they expire; ``keep`` previous certificates are kept.

The first rotation of a directory has no next key to promote, so it only makes and publishes
one. Each file is replaced atomically; authsvc reads them again on SIGHUP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from authsvc.keys import (
    CERT_FILE,
    KEY_FILE,
    Algorithm,
    KeyLoadError,
    SigningMaterial,
    generate_key,
    load_certificates,
    load_signing_material,
    private_key_pem,
    self_signed_certificate,
    write_atomic,
    write_key_pair,
)
from authsvc.libtrust import key_id

NEXT_KEY = "next.key"
NEXT_CERT = "next.crt"
PUBLISHED = "published.crt"
PREVIOUS = "previous"


class RotationError(Exception):
    """The directory is not one that can be rotated; the message says why."""


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: key IDs (libtrust form) of the keys in each role afterwards."""

    promoted: bool
    active: str
    next: str
    previous: tuple[str, ...]
    dropped: tuple[str, ...]


def _kid(cert: x509.Certificate) -> str:
    return key_id(cert.public_key())


def _load(directory: Path, key: str, cert: str, role: str) -> SigningMaterial:
    try:
        return load_signing_material(directory / key, directory / cert)
    except KeyLoadError as exc:
        raise RotationError(f"the {role} key in {directory}: {exc}") from None


def _previous_files(directory: Path) -> list[Path]:
    # Named by UTC time of retirement, so names sort oldest first.
    return sorted((directory / PREVIOUS).glob("*.crt"))


def rotate(
    directory: Path,
    *,
    alg: Algorithm | None = None,
    keep: int = 2,
    now: dt.datetime | None = None,
) -> Rotation:
    """Promote the next key (if there is one), make a new next key, rewrite published.crt."""
    if keep < 1:
        raise RotationError("--keep must be at least 1: the key just retired still verifies")
    now = now or dt.datetime.now(dt.UTC)
    active = _load(directory, KEY_FILE, CERT_FILE, "active")
    promoted = (directory / NEXT_KEY).exists()
    if promoted:
        upcoming = _load(directory, NEXT_KEY, NEXT_CERT, "next")
        retired = directory / PREVIOUS / f"{now:%Y%m%dT%H%M%S%fZ}.crt"
        retired.parent.mkdir(mode=0o755, exist_ok=True)
        write_atomic(retired, active.chain[0].public_bytes(serialization.Encoding.PEM), 0o644)
        write_key_pair(directory, upcoming.key, upcoming.chain[0], overwrite=True)
        active = upcoming
    fresh = generate_key(alg or active.alg)
    fresh_cert = self_signed_certificate(fresh, now=now)
    write_atomic(directory / NEXT_KEY, private_key_pem(fresh), 0o600)
    write_atomic(directory / NEXT_CERT, fresh_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    previous = _previous_files(directory)
    dropped: list[str] = []
    for old in previous[:-keep]:
        dropped.extend(_kid(cert) for cert in load_certificates(old))
        old.unlink()
    kept = [cert for path in reversed(previous[-keep:]) for cert in load_certificates(path)]
    published = [fresh_cert, *kept]
    write_atomic(
        directory / PUBLISHED,
        b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in published),
        0o644,
    )
    return Rotation(
        promoted=promoted,
        active=active.kid,
        next=_kid(fresh_cert),
        previous=tuple(_kid(cert) for cert in kept),
        dropped=tuple(dropped),
    )
