"""The audit writer: batches off the request path, drains on shutdown, bounded, purges."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc import store
from authsvc.audit import AuditWriter
from authsvc.models import utcnow


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[store.AuditRecord]:
    async with store.transaction(sessionmaker) as session:
        return await store.list_audit_events(session, limit=100_000)


async def test_queued_rows_are_written_on_shutdown(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A long interval: nothing would be written before close() without the drain.
    writer = AuditWriter(sessionmaker, enabled=True, retention=3600, flush_interval=3600)
    writer.start()
    for i in range(2500):
        writer.record(store.AuditRecord(at=utcnow(), event="token_issued", subject=f"u{i}"))
    await writer.close()
    written = await rows(sessionmaker)
    assert [r.subject for r in written] == [f"u{i}" for i in range(2500)]
    assert writer.written == 2500 and writer.dropped == 0


async def test_a_full_queue_drops_and_counts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    writer = AuditWriter(sessionmaker, enabled=True, retention=3600, max_queue=10)
    for i in range(15):  # not started: nothing drains the queue
        writer.record(store.AuditRecord(at=utcnow(), event="token_issued", subject=f"u{i}"))
    assert writer.dropped == 5
    writer.start()
    await writer.close()
    assert len(await rows(sessionmaker)) == 10


async def test_disabled_writes_nothing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    writer = AuditWriter(sessionmaker, enabled=False, retention=3600)
    writer.start()
    writer.record(store.AuditRecord(at=utcnow(), event="token_issued"))
    await writer.close()
    assert await rows(sessionmaker) == []


async def test_purge_keeps_the_retention_period(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    old, new = now - dt.timedelta(days=91), now - dt.timedelta(days=89)
    async with store.transaction(sessionmaker) as session:
        await store.add_audit_events(
            session,
            [
                store.AuditRecord(at=old, event="admin", subject="old"),
                store.AuditRecord(at=new, event="admin", subject="new"),
                # Oversized text is cut to the column, not refused with the whole batch.
                store.AuditRecord(at=new, event="admin", user_agent="x" * 5000),
            ],
        )
        await store.add_login_failure(session, "stale", "192.0.2.1", old, lambda n: 0)
        await store.add_login_failure(session, "fresh", "192.0.2.1", now, lambda n: 0)
    writer = AuditWriter(sessionmaker, enabled=True, retention=90 * 24 * 3600)
    assert await writer.purge() == (1, 1)
    left = await rows(sessionmaker)
    assert [r.subject for r in left] == ["new", ""]
    assert len(left[1].user_agent) == 255
    async with store.transaction(sessionmaker) as session:
        assert [r.username for r in await store.list_login_failures(session)] == ["fresh"]


async def test_every_field_round_trips_through_the_batched_insert(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # The batch travels as one JSON array that the database takes apart: quotes, backslashes,
    # JSON-looking text, non-ASCII text, microseconds and an oversized value must all come back
    # as given (the oversized one cut to its column's width), in the order given.
    at = dt.datetime(2026, 12, 4, 5, 30, 1, 123456, tzinfo=dt.UTC)
    records = [
        store.AuditRecord(
            at=at + dt.timedelta(seconds=i),
            event="token_issued",
            subject=f"u{i}",
            address="2001:db8::1",
            service="registry.example",
            client_id="docker",
            user_agent="x" * 10_000 if i == 300 else 'it\'s "quoted" \\ — ünïcode 🐳',
            jti=f"{i:032x}",
            requested="repository:a/b:pull,push",
            granted="repository:a/b:pull",
            rule="repository:a/b:pull=rule:7",
            detail='{"a": [1, null]}' if i % 2 else "",
            request_id=f"req-{i}",
        )
        for i in range(306)
    ]
    async with store.transaction(sessionmaker) as session:
        await store.add_audit_events(session, records)
    written = await rows(sessionmaker)
    assert len(written) == len(records)
    for got, want in zip(written, records, strict=True):
        if want.subject == "u300":
            assert got.user_agent.endswith("…") and len(got.user_agent) < 10_000
            got = dataclasses.replace(got, user_agent=want.user_agent)
        assert got == want


async def test_batches_of_any_size_are_one_and_the_same_statement(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # Each connection keeps its prepared statements, and a prepared 256-row INSERT cost SQLite
    # about 330 KB: one statement per batch size let authsvc's RSS grow by tens of MB.
    statements: set[str] = set()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO audit"):
            statements.add(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        sizes = [*range(1, 41), *range(200, 261)]
        at = dt.datetime(2026, 12, 4, tzinfo=dt.UTC)
        for n in sizes:
            batch = [
                store.AuditRecord(
                    at=at,
                    event="token_issued",
                    subject=f"b{n}-{i}",
                    address="",
                    service="",
                    client_id="",
                    user_agent="",
                    jti="",
                    requested="",
                    granted="",
                    rule="",
                    detail="",
                    request_id="",
                )
                for i in range(n)
            ]
            async with store.transaction(sessionmaker) as session:
                await store.add_audit_events(session, batch)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(await rows(sessionmaker)) == sum(sizes)
    assert len(statements) == 1


async def test_a_batch_that_fails_for_any_reason_does_not_stop_the_writer(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A naive datetime is refused by the column type (not a database error): that batch is
    # dropped and counted, and the rows after it are still written, so close() returns.
    writer = AuditWriter(sessionmaker, enabled=True, retention=3600, flush_interval=0.01)
    writer.start()
    writer.record(store.AuditRecord(at=dt.datetime(2026, 1, 1), event="token_issued"))
    await writer.flush()
    writer.record(store.AuditRecord(at=utcnow(), event="token_issued", subject="after"))
    await writer.close()
    assert [r.subject for r in await rows(sessionmaker)] == ["after"]
    assert writer.dropped == 1 and writer.written == 1


async def test_text_no_database_stores_is_written_with_replacement_characters(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # aiohttp hands header bytes that are not UTF-8 over as lone surrogates, and PostgreSQL text
    # cannot hold NUL: neither may cost the batch it is in (or, before, the writer task itself).
    # A literal backslash-u0000 is text like any other.
    writer = AuditWriter(sessionmaker, enabled=True, retention=3600, flush_interval=0.01)
    writer.start()
    writer.record(store.AuditRecord(at=utcnow(), event="login_failed", user_agent="curl\udcff"))
    writer.record(store.AuditRecord(at=utcnow(), event="login_failed", subject="a\x00b"))
    writer.record(store.AuditRecord(at=utcnow(), event="login_failed", subject="next\\u0000"))
    await writer.close()
    written = await rows(sessionmaker)
    assert [r.subject for r in written] == ["", "a\ufffdb", "next\\u0000"]
    assert written[0].user_agent.startswith("curl\ufffd")
    assert writer.dropped == 0
