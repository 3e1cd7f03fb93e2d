"""Repository discovery by walking `repositories/`, as Distribution's catalog does."""

from __future__ import annotations

from collections.abc import Callable

from registry.reference import is_name
from registry.storage.driver import PathNotFoundError, StorageDriver
from registry.storage.paths import (
    PathSpec,
    RepositoriesRootPath,
    RepositoryPath,
    basename,
    path_for,
)


def repository_sort_key(name: str) -> tuple[str, ...]:
    """Order of the catalog: component-wise, like Distribution's lessPath ('/' sorts first)."""
    return tuple(name.split("/"))


async def repositories_with(driver: StorageDriver, marker: Callable[[str], PathSpec]) -> list[str]:
    """Names of every repository whose directory holds path_for(marker(name)), in catalog order.

    With marker=ManifestsPath this is the catalog: Distribution lists a repository once it has
    a `_manifests` directory.  Reserved `_` directories are never descended into, because no
    repository path component may start with `_`.
    """
    found: list[str] = []

    async def _visit(prefix: str | None) -> None:
        base = path_for(RepositoriesRootPath() if prefix is None else RepositoryPath(prefix))
        try:
            children = await driver.list(base)
        except PathNotFoundError:
            return
        if prefix is not None and path_for(marker(prefix)) in children:
            found.append(prefix)
        for child in children:
            candidate = basename(child) if prefix is None else f"{prefix}/{basename(child)}"
            if is_name(candidate):
                await _visit(candidate)

    await _visit(None)
    return found


def paginate(
    items: list[str],
    last: str | None,
    n: int | None,
    key: Callable[[str], tuple[str, ...]] = lambda item: (item,),
) -> list[str]:
    """Sorted items strictly after `last` (by key), at most n (OCI spec "Listing" pagination)."""
    if last is not None:
        after = key(last)
        items = [item for item in items if key(item) > after]
    return items if n is None else items[: max(n, 0)]
