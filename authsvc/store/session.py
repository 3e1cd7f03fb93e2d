"""Transactions: the one place where SQLAlchemy's exceptions become the store's own errors.

Callers outside ``authsvc.store`` never see a SQLAlchemy exception: a database that cannot be
reached, times out or is not migrated raises ``StoreUnavailable`` (the HTTP layer answers 503
with Retry-After), any other error the database reports (missing privileges, a broken query)
raises ``QueryFailed``, and uniqueness violations are already ``Conflict`` (see ``common.flush``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from authsvc.store.common import QueryFailed, StoreError, StoreUnavailable

# Failures that mean "the database cannot be used right now": retrying later may succeed.
# OSError covers refused and reset connections that a driver raises before SQLAlchemy wraps them.
_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
)
_NOT_MIGRATED = ("no such table", "does not exist")
# SQLSTATEs (PostgreSQL appendix A) that say "not now" rather than "wrong query": class 08
# (connection exceptions), 53 (insufficient resources), 57P01-57P03 (the server shutting down,
# crashed or still starting) and 25006 (a read-only standby after a failover).
_RETRYABLE_STATE_CLASSES = ("08", "53")
_RETRYABLE_STATES = frozenset({"57P01", "57P02", "57P03", "25006"})
# asyncpg's own client-side errors (a protocol state broken by a dropped connection).
_DRIVER_CONNECTION_ERRORS = frozenset({"InternalClientError", "ConnectionDoesNotExistError"})


def _driver_error(exc: sa_exc.DBAPIError) -> BaseException | None:
    orig = exc.orig
    # SQLAlchemy's asyncpg adapter wraps the driver's exception once more.
    return orig.__cause__ if orig is not None and orig.__cause__ is not None else orig


def _is_unavailable(exc: BaseException) -> bool:
    # PostgreSQL reports a missing table as a ProgrammingError; anything else of that class is a
    # bug in a query and must surface as one, not as a retryable outage.
    if isinstance(exc, _UNAVAILABLE):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    if isinstance(state, str) and (
        state in _RETRYABLE_STATES or state[:2] in _RETRYABLE_STATE_CLASSES
    ):
        return True
    driver = _driver_error(exc)
    if driver is not None and type(driver).__name__ in _DRIVER_CONNECTION_ERRORS:
        return True
    return isinstance(exc, sa_exc.ProgrammingError) and any(
        marker in str(exc.orig) for marker in _NOT_MIGRATED
    )


def describe_db_error(exc: BaseException) -> str:
    """One line saying what went wrong, with neither the URL nor statement parameters."""
    if isinstance(exc, sa_exc.DBAPIError):
        # The first line only: SQLAlchemy appends the statement and its parameters.
        text = str(exc.orig if exc.orig is not None else exc).strip()
        detail = text.splitlines()[0] if text else type(exc).__name__
        if any(marker in detail for marker in _NOT_MIGRATED) and "database" not in detail:
            return f"database error: {detail} (is it migrated? run 'authsvc db upgrade')"
        return f"database error: {detail}"
    if isinstance(exc, OSError):
        return f"cannot connect to the database: {exc.strerror or exc}"
    return f"database error: {type(exc).__name__}: {exc}"


def as_store_error(exc: BaseException) -> StoreError | None:
    """The store's error for a database failure, or None when ``exc`` is not one.

    Outages become ``StoreUnavailable`` and other errors that the database reported become
    ``QueryFailed``, both carrying ``describe_db_error``'s line. SQLAlchemy's own usage errors
    (InvalidRequestError and the like) are bugs in our code and stay what they are.
    """
    if isinstance(exc, StoreError):
        return exc
    if _is_unavailable(exc):
        return StoreUnavailable(describe_db_error(exc))
    if isinstance(exc, sa_exc.DBAPIError):
        return QueryFailed(describe_db_error(exc))
    return None


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], *, commit: bool = True
) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block succeeds (unless ``commit=False``).

    Leaving the block with an exception rolls back. Database failures raised inside the block,
    by the store functions or by the commit, become ``StoreUnavailable`` or ``QueryFailed``.
    """
    try:
        async with sessionmaker() as session:
            yield session
            if commit:
                await session.commit()
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        error = as_store_error(exc)
        if error is None:
            raise
        raise error from exc
