"""What a pushed manifest points at must be in the repository, at the size it says.

Distribution checks that every referenced blob exists (MANIFEST_BLOB_UNKNOWN). This does more,
because a manifest is attacker-sized input:

- references are de-duplicated first, so 25,000 layers naming one blob cost one lookup;
- a manifest may hold at most ``validation.manifests.maxreferences`` distinct references (a
  documented setting; real images have tens), refused as MANIFEST_INVALID before any lookup;
- lookups run a bounded number at a time, so one push never floods the event loop or the
  storage threads while other requests wait;
- at most ``MAX_LISTED_ERRORS`` missing references are listed (the count says how many more);
- a blob whose stored size differs from the descriptor's is refused (image-spec
  descriptor.md: ``size`` is the exact byte count; a wrong one breaks pulls later).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from registry.digest import Digest
from registry.errcode import ErrorCode, RegistryError, RegistryErrors
from registry.manifest import Descriptor
from registry.storage import BlobUnknown, Storage

MAX_LISTED_ERRORS = 100
CHECK_CONCURRENCY = 16


def unique_references(descriptors: Sequence[Descriptor]) -> dict[Digest, Descriptor]:
    """One descriptor per digest; one digest named with two sizes is MANIFEST_INVALID."""
    unique: dict[Digest, Descriptor] = {}
    for desc in descriptors:
        seen = unique.setdefault(desc.digest, desc)
        if seen.size != desc.size:
            raise RegistryError(
                ErrorCode.MANIFEST_INVALID,
                message="manifest invalid: one digest with two sizes",
                detail={"digest": str(desc.digest), "sizes": sorted({seen.size, desc.size})},
            )
    return unique


async def check_references(
    store: Storage,
    name: str,
    blobs: Sequence[Descriptor],
    children: Sequence[Descriptor],
    *,
    limit: int,
) -> None:
    """Raise the errors of a manifest whose references are too many, missing or mis-sized."""
    unique_blobs = unique_references(blobs)
    unique_children = unique_references(children)
    total = len(unique_blobs) + len(unique_children)
    if total > limit:
        raise RegistryError(
            ErrorCode.MANIFEST_INVALID,
            message=f"manifest invalid: more than {limit} distinct references",
            detail={"references": total, "limit": limit},
        )
    gate = asyncio.Semaphore(CHECK_CONCURRENCY)

    async def blob_problem(desc: Descriptor) -> RegistryError | None:
        async with gate:
            try:
                info = await store.blobs.stat(name, desc.digest)
            except BlobUnknown:
                return RegistryError(
                    ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"digest": str(desc.digest)}
                )
        if info.size != desc.size:
            return RegistryError(
                ErrorCode.MANIFEST_INVALID,
                message="manifest invalid: a descriptor's size is not the blob's",
                detail={"digest": str(desc.digest), "size": desc.size, "stored": info.size},
            )
        return None

    async def child_problem(desc: Descriptor) -> RegistryError | None:
        async with gate:
            if await store.manifests.exists(name, desc.digest):
                return None
        return RegistryError(ErrorCode.MANIFEST_BLOB_UNKNOWN, detail={"digest": str(desc.digest)})

    results = await asyncio.gather(
        *(blob_problem(d) for d in unique_blobs.values()),
        *(child_problem(d) for d in unique_children.values()),
    )
    problems = [p for p in results if p is not None]
    if not problems:
        return
    listed = problems[:MAX_LISTED_ERRORS]
    if len(problems) > len(listed):
        listed.append(
            RegistryError(
                ErrorCode.MANIFEST_BLOB_UNKNOWN,
                message=f"and {len(problems) - len(listed)} more references not listed",
                detail={"unlisted": len(problems) - len(listed)},
            )
        )
    raise RegistryErrors(listed)
