"""The Suppressions port for the HTTP processes: the admin commands' functions (suppressions.py), one engine.

SQLAlchemy is imported on the first request that needs it, not at start-up (the HTTP processes
start without it: tests/unit/test_start_up_imports.py). One engine per process: on PostgreSQL an
async engine on the process's event loop (asyncpg, as everywhere else); on SQLite a blocking one
whose transactions run in a thread. Each change and its audit row share one transaction.
"""

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

from order_intake.adapters.database_url import DatabaseUrl
from order_intake.adapters.sqlstate import not_now
from order_intake.domain.suppressions import RETAILER_REASON, ListPosition
from order_intake.errors import StoreUnavailable, SuppressedByCustomer, first_line
from order_intake.service.invitation_records import Removal, SuppressionAdded, SuppressionPage, SuppressionRow

if TYPE_CHECKING:
    import datetime as dt
    import sqlite3

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SqlSuppressions"]

T = TypeVar("T")

# Seconds to wait for a connection (then 503, as the stores' pools), and for one statement.
_CONNECT_TIMEOUT: Final = 1.5
_STATEMENT_TIMEOUT: Final = 10.0


class SqlSuppressions:
    """Suppressions added, lifted and listed through SQLAlchemy Core on both databases."""

    def __init__(self, url: DatabaseUrl) -> None:
        self._url = url
        # Made on first use: SQLite's blocking engine, or PostgreSQL's async one.
        self._blocking: sa.Engine | None = None
        self._async: AsyncEngine | None = None

    async def add(self, *, trkref: str, email: str, actor: str, now: "dt.datetime") -> SuppressionAdded:
        """Suppress the address for the retailer; re-plan its customers; audit suppress.add."""
        from order_intake.adapters.sql import audit, suppressions  # noqa: PLC0415 - SQLAlchemy on first use

        def work(conn: "sa.Connection") -> SuppressionAdded:
            change = suppressions.add_suppression(conn, trkref, email, now)
            details = suppressions.audit_details(change)
            audit.record(conn, at=now, actor=actor, action=suppressions.ADD, target=trkref, details=details)
            # None only if another request lifted it between this one's insert and read: what it wrote.
            there = change.suppression or SuppressionRow(email, RETAILER_REASON.value, now)
            return SuppressionAdded(there, created=change.changed)

        return await self._run(work)

    async def remove(self, *, trkref: str, email: str, actor: str, now: "dt.datetime") -> Removal:
        """Lift the retailer's suppression; re-plan; audit suppress.remove. The customer's own: nothing written."""
        from order_intake.adapters.sql import audit, suppressions  # noqa: PLC0415 - SQLAlchemy on first use

        def work(conn: "sa.Connection") -> Removal:
            change = suppressions.remove_suppression(conn, trkref, email, now)
            details = suppressions.audit_details(change)
            audit.record(conn, at=now, actor=actor, action=suppressions.REMOVE, target=trkref, details=details)
            return Removal.REMOVED if change.changed else Removal.ABSENT

        try:
            return await self._run(work)
        except SuppressedByCustomer:  # raised inside the transaction, which rolled back
            return Removal.BY_CUSTOMER

    async def by_customer(self, *, organisation_id: int, email: str, reason: str, now: "dt.datetime") -> bool:
        """The customer unsubscribed or the address bounced: suppress it for good; True if newly suppressed."""
        from order_intake.adapters.sql import suppressions  # noqa: PLC0415 - SQLAlchemy on first use

        return await self._run(
            lambda conn: suppressions.customer_suppression(conn, organisation_id, email, reason, now)
        )

    async def find(self, *, trkref: str, email: str) -> SuppressionRow | None:
        """The address's suppression, whatever its reason."""
        from order_intake.adapters.sql import suppressions  # noqa: PLC0415 - SQLAlchemy on first use

        return await self._run(lambda conn: suppressions.find_suppression(conn, trkref, email))

    async def page(self, *, trkref: str, after: ListPosition | None, limit: int) -> SuppressionPage:
        """A page of the suppressions that still name their address, oldest first."""
        from order_intake.adapters.sql import suppressions  # noqa: PLC0415 - SQLAlchemy on first use

        return await self._run(lambda conn: suppressions.suppressions_page(conn, trkref, after=after, limit=limit))

    async def close(self) -> None:
        """Release the engine's connections (nothing to do if no request needed one)."""
        blocking, self._blocking = self._blocking, None
        if blocking is not None:
            blocking.dispose()
        engine, self._async = self._async, None
        if engine is not None:
            await engine.dispose()

    async def _run(self, work: Callable[["sa.Connection"], T]) -> T:
        """`work` in one transaction; an error meaning 'no database now' becomes StoreUnavailable (503)."""
        import sqlalchemy as sa  # noqa: PLC0415 - on first use

        try:
            if self._url.backend == "sqlite":
                return await asyncio.to_thread(self._run_blocking, work)
            return await self._run_async(work)
        except (OSError, TimeoutError, sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(first_line(exc)) from exc
        except sa.exc.DBAPIError as exc:
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if exc.connection_invalidated or not_now(sqlstate):
                raise StoreUnavailable(first_line(exc), sqlstate=sqlstate) from exc
            raise

    async def _run_async(self, work: Callable[["sa.Connection"], T]) -> T:
        async with self._async_engine().begin() as conn:
            return await conn.run_sync(work)

    def _run_blocking(self, work: Callable[["sa.Connection"], T]) -> T:
        with self._blocking_engine().begin() as conn:
            return work(conn)

    def _blocking_engine(self) -> "sa.Engine":
        if self._blocking is None:
            import sqlalchemy as sa  # noqa: PLC0415 - on first use

            from order_intake.adapters.sqlite.intake import LOCK_TIMEOUT  # noqa: PLC0415 - SQLite's only

            engine = sa.create_engine(self._url.sqlalchemy_url, connect_args={"timeout": LOCK_TIMEOUT})
            sa.event.listen(engine, "connect", _foreign_keys_on)
            self._blocking = engine
        return self._blocking

    def _async_engine(self) -> "AsyncEngine":
        if self._async is None:
            from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - on first use

            self._async = create_async_engine(
                self._url.sqlalchemy_url,
                pool_size=2,
                max_overflow=4,
                pool_timeout=_CONNECT_TIMEOUT,
                pool_pre_ping=True,  # a connection the server closed meanwhile is replaced, not a 503
                connect_args={"timeout": _CONNECT_TIMEOUT, "command_timeout": _STATEMENT_TIMEOUT},
            )
        return self._async


def _foreign_keys_on(connection: "sqlite3.Connection", record: object) -> None:  # noqa: ARG001 - the listener's signature
    """As every SQLite connection of this service: foreign keys enforced."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
