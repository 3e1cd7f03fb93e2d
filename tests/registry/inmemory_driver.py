"""An in-memory StorageDriver (like Distribution's inmemory driver), a test double.

The driver contract suite and the store tests run against it and the filesystem driver alike,
which keeps the stores honest about using only the StorageDriver protocol.

Directories are implicit: a path is a directory while some file lies below it.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from registry.storage.driver import (
    BytesLike,
    FileInfo,
    InvalidOffsetError,
    InvalidPathError,
    PathNotFoundError,
    check_path,
)


@dataclass
class _File:
    data: bytearray = field(default_factory=bytearray)
    mod_time: float = field(default_factory=time.time)


class InMemoryReader:
    """Reader over a snapshot of a file's bytes."""

    def __init__(self, data: bytes, offset: int) -> None:
        self._view = memoryview(data)[offset:]

    async def read(self, n: int) -> bytes:
        """Next n bytes at most."""
        chunk, self._view = self._view[:n], self._view[n:]
        return bytes(chunk)

    async def close(self) -> None:
        """Nothing to release."""


class InMemoryWriter:
    """Writer appending straight into the stored file."""

    def __init__(self, driver: InMemoryDriver, path: str) -> None:
        self._driver = driver
        self._path = path
        self._closed = False

    def _file(self) -> _File:
        if self._closed:
            raise ValueError("writer is closed")
        try:
            return self._driver.files[self._path]
        except KeyError:
            raise PathNotFoundError(self._path) from None

    @property
    def size(self) -> int:
        """Current length of the file."""
        entry = self._driver.files.get(self._path)
        return 0 if entry is None else len(entry.data)

    async def write(self, data: BytesLike) -> int:
        """Append data."""
        entry = self._file()
        entry.data += data
        entry.mod_time = time.time()
        return len(data)

    async def write_many(self, parts: Sequence[BytesLike]) -> int:
        """Append each part."""
        return sum([await self.write(part) for part in parts])

    async def truncate(self, size: int) -> None:
        """Shrink the file to size."""
        entry = self._file()
        if size < 0 or size > len(entry.data):
            raise InvalidOffsetError(self._path, size)
        del entry.data[size:]

    async def close(self) -> None:
        """Mark closed."""
        self._closed = True

    async def cancel(self) -> None:
        """Remove the file."""
        self._closed = True
        self._driver.files.pop(self._path, None)

    async def commit(self) -> None:
        """Memory is as durable as it gets."""
        self._file()


class InMemoryDriver:
    """Files in a dict keyed by driver path."""

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}

    def _is_dir(self, path: str) -> bool:
        prefix = "/" if path == "/" else path + "/"
        return any(p.startswith(prefix) for p in self.files)

    def _get(self, path: str) -> _File:
        check_path(path)
        entry = self.files.get(path)
        if entry is None:
            raise PathNotFoundError(path)
        return entry

    def _check_parent(self, path: str) -> None:
        # A file cannot live below another file, as on a real filesystem.
        parts = path.split("/")
        for i in range(2, len(parts)):
            if "/".join(parts[:i]) in self.files:
                raise InvalidPathError(path)
        if self._is_dir(path):
            raise InvalidPathError(path)

    def local_path(self, path: str) -> Path | None:
        """No local files."""
        return None

    async def url_for(self, path: str) -> str | None:
        """No direct URLs."""
        return None

    async def get_content(self, path: str) -> bytes:
        """Whole content of a file."""
        return bytes(self._get(path).data)

    async def put_content(self, path: str, content: bytes) -> None:
        """Replace the file in one step."""
        check_path(path)
        self._check_parent(path)
        self.files[path] = _File(bytearray(content))

    async def reader(self, path: str, offset: int = 0) -> InMemoryReader:
        """Reader from offset."""
        data = self._get(path).data
        if offset < 0 or offset > len(data):
            raise InvalidOffsetError(path, offset)
        return InMemoryReader(bytes(data), offset)

    async def writer(self, path: str, append: bool = False) -> InMemoryWriter:
        """Writer at the end of the file (append) or on an emptied file."""
        check_path(path)
        if path not in self.files:
            self._check_parent(path)
            self.files[path] = _File()
        elif not append:
            self.files[path] = _File()
        return InMemoryWriter(self, path)

    async def stat(self, path: str) -> FileInfo:
        """Size and kind."""
        check_path(path, allow_root=True)
        entry = self.files.get(path)
        if entry is not None:
            return FileInfo(path, len(entry.data), entry.mod_time, False)
        if path == "/" or self._is_dir(path):
            return FileInfo(path, 0, time.time(), True)
        raise PathNotFoundError(path)

    async def list(self, path: str) -> builtins.list[str]:
        """Direct children."""
        check_path(path, allow_root=True)
        if not self._is_dir(path):
            raise PathNotFoundError(path)
        base = "" if path == "/" else path
        names = {
            p[len(base) + 1 :].split("/", 1)[0] for p in self.files if p.startswith(base + "/")
        }
        return [f"{base}/{name}" for name in sorted(names)]

    async def walk(self, path: str) -> builtins.list[FileInfo]:
        """Every file and implicit directory below path, depth first."""
        out: builtins.list[FileInfo] = []
        for child in await self.list(path):
            info = await self.stat(child)
            out.append(info)
            if info.is_dir:
                out.extend(await self.walk(child))
        return out

    async def move(self, source: str, dest: str) -> None:
        """Rename a file."""
        entry = self._get(source)
        check_path(dest)
        if dest not in self.files:
            self._check_parent(dest)
        self.files[dest] = self.files.pop(source) if source != dest else entry

    async def delete(self, path: str) -> None:
        """Remove a file or everything below a directory."""
        check_path(path)
        prefix = path + "/"
        doomed = [p for p in self.files if p == path or p.startswith(prefix)]
        if not doomed:
            raise PathNotFoundError(path)
        for p in doomed:
            del self.files[p]

    async def aclose(self) -> None:
        """Nothing to release."""
