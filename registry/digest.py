"""Content digests as the OCI image spec defines them (`algorithm:encoded`): sha256, sha512."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

# OCI image-spec descriptor.md "Digests": algorithm ":" encoded, with the algorithm grammar
# [a-z0-9]+([+._-][a-z0-9]+)*.  Only the registered algorithms are accepted (sha256 is
# canonical, sha512 optional); their encoded part is lowercase hex of a fixed length.
_ALGORITHM_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*")
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
_LOWER_HEX = frozenset("0123456789abcdef")

CANONICAL_ALGORITHM = "sha256"


class UnsupportedAlgorithmError(ValueError):
    """A well-formed digest whose algorithm this registry does not implement."""


class Hasher(Protocol):
    """The subset of hashlib's hash objects that storage uses."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        """Feed more bytes."""

    def hexdigest(self) -> str:
        """Hex digest of everything fed so far."""

    def copy(self) -> Hasher:
        """Independent copy of the current state."""


def new_hasher(algorithm: str = CANONICAL_ALGORITHM) -> Hasher:
    """Return a fresh incremental hasher for a supported algorithm."""
    if algorithm not in _HEX_LENGTHS:
        raise UnsupportedAlgorithmError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated digest; `str(d)` gives the canonical `algorithm:hex` form."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        # Validating here (not only in parse) keeps every Digest safe to embed in a path.
        expected = _HEX_LENGTHS.get(self.algorithm)
        if expected is None:
            if _ALGORITHM_RE.fullmatch(self.algorithm):
                raise UnsupportedAlgorithmError(
                    f"unsupported digest algorithm {self.algorithm!r} "
                    f"(supported: {', '.join(_HEX_LENGTHS)})"
                )
            raise ValueError(f"invalid digest algorithm {self.algorithm!r}")
        if len(self.hex) != expected or not _LOWER_HEX.issuperset(self.hex):
            raise ValueError(
                f"invalid {self.algorithm} digest: expected {expected} lowercase hex characters"
            )

    @classmethod
    def parse(cls, value: str) -> Digest:
        """Parse `algorithm:hex`, raising ValueError with a readable message."""
        algorithm, sep, encoded = value.partition(":")
        if not sep or not algorithm or not encoded:
            raise ValueError(f"invalid digest {value!r}: expected 'algorithm:hex'")
        return cls(algorithm, encoded)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = CANONICAL_ALGORITHM) -> Digest:
        """Digest of an in-memory byte string (manifests, tests)."""
        hasher = new_hasher(algorithm)
        hasher.update(data)
        return cls(algorithm, hasher.hexdigest())

    @classmethod
    def from_hasher(cls, algorithm: str, hasher: Hasher) -> Digest:
        """Digest of everything fed to a hasher created by new_hasher(algorithm)."""
        return cls(algorithm, hasher.hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
