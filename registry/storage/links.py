"""Link files: a digest string without newline, as Distribution's blobStore.link writes them."""

from __future__ import annotations

import logging

from registry.digest import Digest
from registry.storage.driver import PathNotFoundError, StorageDriver

log = logging.getLogger(__name__)


async def read_link(driver: StorageDriver, path: str) -> Digest | None:
    """Digest stored in a link file, or None if the file is missing or unreadable as a digest."""
    try:
        content = await driver.get_content(path)
    except PathNotFoundError:
        return None
    try:
        # Distribution writes no newline; tolerate surrounding whitespace from hand-made trees.
        return Digest.parse(content.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        log.warning("ignoring corrupt link file %s", path)
        return None


async def write_link(driver: StorageDriver, path: str, digest: Digest) -> None:
    """Atomically write a link file (put_content renames a temp file over it)."""
    await driver.put_content(path, str(digest).encode("ascii"))


async def delete_quietly(driver: StorageDriver, path: str) -> bool:
    """Delete path if it exists; True if something was removed."""
    try:
        await driver.delete(path)
    except PathNotFoundError:
        return False
    return True
