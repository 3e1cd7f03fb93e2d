"""The storage-driver interface: Distribution's StorageDriver verbs, as async methods."""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

BytesLike = bytes | bytearray | memoryview

# Distribution's driver.PathRegexp: absolute, `/`-separated, conservative characters.  "." and
# ".." components match it too, so check_path rejects them explicitly.
PATH_RE = re.compile(r"(?:/[A-Za-z0-9._-]+)+")


class DriverError(Exception):
    """Base class of driver errors."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{message}: {path}")
        self.path = path


class PathNotFoundError(DriverError):
    """Nothing exists at the path."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "path not found")


class InvalidPathError(DriverError):
    """The path is malformed or would escape the driver root."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "invalid path")


class InvalidOffsetError(DriverError):
    """A read or write offset lies outside the file."""

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(path, f"invalid offset {offset}")
        self.offset = offset


def check_path(path: str, *, allow_root: bool = False) -> str:
    """Return path if it is a valid driver path, else raise InvalidPathError."""
    if allow_root and path == "/":
        return path
    if PATH_RE.fullmatch(path) is None:
        raise InvalidPathError(path)
    if any(part in (".", "..") for part in path.split("/")):
        raise InvalidPathError(path)
    return path


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What stat returns: the path, its size (0 for directories), mtime and kind."""

    path: str
    size: int
    mod_time: float
    is_dir: bool


class FileReader(Protocol):
    """A sequential reader returned by StorageDriver.reader."""

    async def read(self, n: int) -> bytes:
        """Read up to n bytes; b"" at end of file."""

    async def close(self) -> None:
        """Release the underlying file."""


class FileWriter(Protocol):
    """A writer returned by StorageDriver.writer; nothing is durable before commit."""

    @property
    def size(self) -> int:
        """Bytes in the file: its previous length (when appending) plus what was written."""

    async def write(self, data: BytesLike) -> int:
        """Append data, returning the number of bytes written."""

    async def write_many(self, parts: Sequence[BytesLike]) -> int:
        """Append several buffers in order (a vectored write where the driver can)."""

    async def truncate(self, size: int) -> None:
        """Shrink the file back to size (used to undo a failed chunk)."""

    async def close(self) -> None:
        """Flush and release the file; the data stays for a later writer(append=True)."""

    async def cancel(self) -> None:
        """Close and remove the file."""

    async def commit(self) -> None:
        """Flush and fsync so that the bytes are durable; close() must still be called."""


class StorageDriver(Protocol):
    """Distribution's storage-driver verbs over `/`-separated paths relative to the root."""

    async def get_content(self, path: str) -> bytes:
        """Whole content of a small file (links, startedat, manifests)."""

    async def put_content(self, path: str, content: bytes) -> None:
        """Atomically replace the file at path with content (readers never see a partial)."""

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """Open path for sequential reading from offset (InvalidOffsetError past the end)."""

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Open path for writing; append=False truncates, append=True needs an existing file."""

    async def stat(self, path: str) -> FileInfo:
        """FileInfo of a file or directory."""

    async def list(self, path: str) -> builtins.list[str]:
        """Sorted full paths of the direct children of a directory."""

    async def walk(self, path: str) -> builtins.list[FileInfo]:
        """Every file and directory below path, depth first in sorted order."""

    async def move(self, source: str, dest: str) -> None:
        """Atomically rename source to dest, replacing dest and creating its parents."""

    async def delete(self, path: str) -> None:
        """Remove a file or a directory tree."""

    def local_path(self, path: str) -> Path | None:
        """Filesystem path backing a driver path, for zero-copy responses; None if not local."""

    async def url_for(self, path: str) -> str | None:
        """A URL a client can GET the file from directly (Distribution's URLFor), or None."""

    async def aclose(self) -> None:
        """Release resources (thread pools)."""
