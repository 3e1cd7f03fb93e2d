"""The audit trail writer: rows are queued by the request path and written in batches.

A token request only appends to a bounded in-memory list (no I/O, no await); a background task
(``app.audit_ctx``) writes what has gathered every ``FLUSH_INTERVAL`` seconds in one transaction,
so the audit costs one commit per interval rather than one per request. Shutdown drains the
queue. When the queue is full (the database is down for long, say) new rows are dropped and
counted, and a warning says how many, rather than the memory growing without bound or the
requests waiting on the database.

The same task purges rows older than the retention period, and throttle counts nobody has
added to for a day, once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.models import utcnow
from authsvc.store import AuditRecord

log = logging.getLogger(__name__)

# The event of a change made through the CLI or the admin API.
ADMIN = "admin"
CLI_CLIENT = "authsvc-cli"
API_CLIENT = "authsvc-api"

FLUSH_INTERVAL = 0.5
MAX_QUEUE = 50_000
BATCH = 2_000
PURGE_INTERVAL = 3600.0
# Failure counts not added to for this long are forgotten (unless still blocked).
FAILURES_KEPT = dt.timedelta(days=1)
# At most one "dropped" warning per this many seconds.
WARN_INTERVAL = 60.0


def describe_change(words: Sequence[str], details: Mapping[str, object]) -> str:
    """``"user add admin=True name=alice"``: what an admin change did, the same from CLI and API.

    Empty values (None, False, empty lists) are left out and the rest sorted by name, so a
    change reads alike whichever interface made it. Callers never pass a secret.
    """
    shown = [f"{k}={v}" for k, v in sorted(details.items()) if v not in (None, False, [], ())]
    return " ".join([*words, *shown])


def admin_record(operator: str, client_id: str, change: str, address: str = "") -> AuditRecord:
    """The ``admin`` row of one change: who made it, through what, and what it was."""
    return AuditRecord(
        at=utcnow(), event=ADMIN, subject=operator, client_id=client_id, address=address,
        detail=change,
    )  # fmt: skip


class AuditLog(Protocol):
    """Where the service layer sends audit rows; ``record`` never blocks or raises."""

    def record(self, record: AuditRecord) -> None:
        """Queue ``record`` for writing."""
        ...


class NoAudit:
    """The audit turned off (``AUTHSVC_AUDIT=false``)."""

    def record(self, record: AuditRecord) -> None:
        """Discard ``record``."""


async def write_now(
    sessionmaker: async_sessionmaker[AsyncSession], record: AuditRecord, *, enabled: bool = True
) -> None:
    """Write one row at once (the CLI: one process, one change, nothing to batch)."""
    if enabled:
        async with store.transaction(sessionmaker) as session:
            await store.add_audit_events(session, [record])


class AuditWriter:
    """Batches rows into the database from a background task."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        enabled: bool,
        retention: int,
        max_queue: int = MAX_QUEUE,
        flush_interval: float = FLUSH_INTERVAL,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        """Write to ``sessionmaker``'s database; keep rows ``retention`` seconds."""
        self._sessionmaker = sessionmaker
        self.enabled = enabled
        self._retention = dt.timedelta(seconds=retention)
        # A plain list, swapped out whole by the task: appending is all a token request pays.
        self._pending: list[AuditRecord] = []
        self._max_queue = max_queue
        self._wake = asyncio.Event()
        # Rows queued so far, and rows written or dropped after queueing: flush() waits for
        # the second to reach what the first was when it was called.
        self._queued = 0
        self._settled = 0
        self._batch_done = asyncio.Event()
        self._flush_interval = flush_interval
        self._clock = clock
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.written = 0
        self._warned_at = -WARN_INTERVAL

    def record(self, record: AuditRecord) -> None:
        """Queue ``record``; when the queue is full, drop it and count it."""
        if not self.enabled:
            return
        if len(self._pending) >= self._max_queue:
            self.dropped += 1
            now = time.monotonic()
            if now - self._warned_at >= WARN_INTERVAL:
                self._warned_at = now
                log.warning("audit queue full: %d rows dropped so far", self.dropped)
            return
        self._pending.append(record)
        self._queued += 1
        if not self._wake.is_set():
            self._wake.set()

    def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="authsvc-audit")

    async def close(self) -> None:
        """Write everything queued, then stop the task."""
        self._closing.set()
        self._wake.set()
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def flush(self) -> None:
        """Wait until every row queued so far has been written (or dropped on an error)."""
        target = self._queued
        while self._settled < target:
            done = self._batch_done
            await done.wait()

    async def _run(self) -> None:
        next_purge = time.monotonic()
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if len(self._pending) < BATCH and not self._closing.is_set():
                # Gather for a moment: one commit for everything that arrives meanwhile.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self._flush_interval)
            if not self._pending:
                continue
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            await self._write(batch)
            self._settled += len(batch)
            done, self._batch_done = self._batch_done, asyncio.Event()
            done.set()
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + PURGE_INTERVAL
                await self.purge()

    async def _write(self, batch: list[AuditRecord]) -> None:
        try:
            async with store.transaction(self._sessionmaker) as session:
                await store.add_audit_events(session, batch)
            self.written += len(batch)
        except store.StoreError as exc:
            self.dropped += len(batch)
            log.warning("could not write %d audit rows: %s", len(batch), exc)
        except Exception:
            # A bug in one batch (a row the database refuses, say) must not end the task: the
            # queue would then fill for good, and flush() and shutdown would wait forever.
            self.dropped += len(batch)
            log.exception("could not write %d audit rows", len(batch))

    async def purge(self) -> tuple[int, int]:
        """Delete audit rows past retention and stale throttle counts; return both counts."""
        now = self._clock()
        try:
            async with store.transaction(self._sessionmaker) as session:
                events = await store.purge_audit_events(session, now - self._retention)
                failures = await store.purge_login_failures(session, now - FAILURES_KEPT)
        except store.StoreError as exc:
            log.warning("could not purge old audit rows: %s", exc)
            return 0, 0
        if events or failures:
            log.info("purged %d audit rows and %d failure counts", events, failures)
        return events, failures
