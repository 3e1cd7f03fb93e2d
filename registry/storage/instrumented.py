"""A storage driver wrapper that times every call, as Distribution's base driver does.

The observer gets the driver's name, Distribution's action name (``GetContent``, ``Stat``, …)
and the seconds taken; the registry's metrics turn that into
``registry_storage_action_seconds``. Nothing here knows about Prometheus.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from pathlib import Path

from registry.storage.driver import FileInfo, FileReader, FileWriter, StorageDriver

Observer = Callable[[str, str, float], None]


class InstrumentedDriver:
    """Delegates to ``inner`` and reports how long each call took (errors included)."""

    def __init__(self, inner: StorageDriver, name: str, observe: Observer) -> None:
        """Wrap ``inner``, reported as driver ``name``."""
        self._inner = inner
        self._name = name
        self._observe = observe

    def _done(self, action: str, started: float) -> None:
        self._observe(self._name, action, time.perf_counter() - started)

    async def get_content(self, path: str) -> bytes:
        """Time GetContent."""
        started = time.perf_counter()
        try:
            return await self._inner.get_content(path)
        finally:
            self._done("GetContent", started)

    async def put_content(self, path: str, content: bytes) -> None:
        """Time PutContent."""
        started = time.perf_counter()
        try:
            await self._inner.put_content(path, content)
        finally:
            self._done("PutContent", started)

    async def reader(self, path: str, offset: int = 0) -> FileReader:
        """Time opening a Reader (Distribution times the open, not the reads)."""
        started = time.perf_counter()
        try:
            return await self._inner.reader(path, offset)
        finally:
            self._done("Reader", started)

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        """Time opening a Writer."""
        started = time.perf_counter()
        try:
            return await self._inner.writer(path, append)
        finally:
            self._done("Writer", started)

    async def stat(self, path: str) -> FileInfo:
        """Time Stat."""
        started = time.perf_counter()
        try:
            return await self._inner.stat(path)
        finally:
            self._done("Stat", started)

    async def list(self, path: str) -> builtins.list[str]:
        """Time List."""
        started = time.perf_counter()
        try:
            return await self._inner.list(path)
        finally:
            self._done("List", started)

    async def walk(self, path: str) -> builtins.list[FileInfo]:
        """Time Walk."""
        started = time.perf_counter()
        try:
            return await self._inner.walk(path)
        finally:
            self._done("Walk", started)

    async def move(self, source: str, dest: str) -> None:
        """Time Move."""
        started = time.perf_counter()
        try:
            await self._inner.move(source, dest)
        finally:
            self._done("Move", started)

    async def delete(self, path: str) -> None:
        """Time Delete."""
        started = time.perf_counter()
        try:
            await self._inner.delete(path)
        finally:
            self._done("Delete", started)

    def local_path(self, path: str) -> Path | None:
        """The inner driver's answer (a file served with sendfile is not a driver call)."""
        return self._inner.local_path(path)

    async def url_for(self, path: str) -> str | None:
        """Time URLFor (presigning is local, but a driver may ask its backend)."""
        started = time.perf_counter()
        try:
            return await self._inner.url_for(path)
        finally:
            self._done("URLFor", started)

    async def aclose(self) -> None:
        """Close the inner driver."""
        await self._inner.aclose()
