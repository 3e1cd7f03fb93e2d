"""The upload purger: Distribution's background removal of abandoned upload sessions.

Like Distribution (registry/handlers/app.go `startUploadPurger`), it waits a random delay of up
to an hour before the first pass, so that replicas started together do not purge together,
then removes the uploads older than ``age`` every ``interval``.
"""

from __future__ import annotations

import asyncio
import logging
import random

from registry.config import UploadPurgingConfig
from registry.storage import Storage

log = logging.getLogger(__name__)

MAX_PURGE_JITTER = 3600.0


class UploadPurger:
    """Purge passes over one storage root; ``wait_for_pass`` lets a caller see one complete."""

    def __init__(self, storage: Storage, cfg: UploadPurgingConfig) -> None:
        self._storage = storage
        self._cfg = cfg
        self._started = 0
        self._finished = 0
        self._passed = asyncio.Condition()

    async def run_forever(self) -> None:
        """Purge after the random first delay, then every interval, until cancelled."""
        await asyncio.sleep(random.uniform(0, min(MAX_PURGE_JITTER, self._cfg.interval)))
        while True:
            await self.purge_once()
            await asyncio.sleep(self._cfg.interval)

    async def purge_once(self) -> None:
        """One pass: remove (or with dryrun, only log) the stale uploads; failures are logged."""
        self._started += 1
        cfg = self._cfg
        try:
            purged = await self._storage.uploads.purge(cfg.age, dry_run=cfg.dryrun)
        except Exception:
            log.exception("upload purge failed")
        else:
            verb = "would purge" if cfg.dryrun else "purged"
            log.info("upload purge: %s %d stale upload(s)", verb, len(purged))
            for upload in purged:
                log.debug("upload purge: %s %s", verb, upload)
        finally:
            async with self._passed:
                self._finished += 1
                self._passed.notify_all()

    async def wait_for_pass(self) -> None:
        """Return once a pass that started after this call has finished."""
        target = self._started + 1
        async with self._passed:
            await self._passed.wait_for(lambda: self._finished >= target)
