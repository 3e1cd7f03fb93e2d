"""Typed errors raised by the stores; the HTTP layer maps each to one error code in one place."""

from __future__ import annotations

from registry.digest import Digest


class StorageError(Exception):
    """Base class of every store-level error."""


class BlobUnknown(StorageError):
    """The blob is not in the repository (no layer link) or its data is missing."""

    def __init__(self, digest: Digest) -> None:
        super().__init__(f"blob unknown: {digest}")
        self.digest = digest


class BlobUploadUnknown(StorageError):
    """No upload session with this id exists in the repository."""

    def __init__(self, upload_id: str) -> None:
        super().__init__(f"blob upload unknown: {upload_id}")
        self.upload_id = upload_id


class ManifestUnknown(StorageError):
    """The manifest revision is not linked in the repository."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"manifest unknown: {ref}")
        self.ref = ref


class TagUnknown(StorageError):
    """The tag does not exist in the repository."""

    def __init__(self, tag: str) -> None:
        super().__init__(f"tag unknown: {tag}")
        self.tag = tag


class RepositoryUnknown(StorageError):
    """The repository has never been pushed to."""

    def __init__(self, name: str) -> None:
        super().__init__(f"repository name not known to registry: {name}")
        self.name = name


class InvalidOffset(StorageError):
    """A chunk started at another offset than the upload's current size (spec: 416)."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"chunk starts at offset {got}, upload is at offset {expected}")
        self.expected = expected
        self.got = got


class DigestMismatch(StorageError):
    """The uploaded content does not hash to the digest the client gave."""

    def __init__(self, expected: Digest, actual: Digest) -> None:
        super().__init__(f"content digest {actual} does not match {expected}")
        self.expected = expected
        self.actual = actual


class SizeMismatch(StorageError):
    """The uploaded content is not as long as the client said."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"content length {actual} does not match {expected}")
        self.expected = expected
        self.actual = actual


class BlobTooLarge(StorageError):
    """The upload would exceed the configured maximum blob size."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"blob exceeds the maximum size of {limit} bytes")
        self.limit = limit
