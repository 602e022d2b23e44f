"""Processing and the event relay on SQLite: on one writer thread and connection, write transactions immediate."""

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from order_intake.adapters import sqlite_processing_sql as sql
from order_intake.adapters.processing_records import Claimed, OutboxRow, Plan, Planner, Publisher, StoredCanonical
from order_intake.adapters.schema import to_sqlite_time
from order_intake.adapters.sqlite import SqliteStore

T = TypeVar("T")


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _canonical(row: tuple[Any, ...]) -> StoredCanonical:
    return StoredCanonical(
        id=UUID(row[0]),
        organisation_id=row[1],
        order_ref=row[2],
        version=row[3],
        document=row[4].encode(),
        stamps=row[5].encode(),
        created_at=dt.datetime.fromisoformat(row[6]),
        updated_at=dt.datetime.fromisoformat(row[7]),
    )


def _outbox_row(row: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(
        id=row[0], event_id=UUID(row[1]), version=row[2], routing_key=row[3], payload=row[4], sent_at=_time(row[5])
    )


def _write(conn: sqlite3.Connection, result: Plan) -> None:
    conn.executemany(
        sql.UPSERT_CANONICAL,
        [
            (
                str(c.id),
                c.organisation_id,
                c.order_ref,
                c.version,
                c.document.decode(),
                c.stamps.decode(),
                to_sqlite_time(c.created_at),
                to_sqlite_time(c.updated_at),
            )
            for c in result.canonicals
        ],
    )
    conn.executemany(
        sql.INSERT_EVENT,
        [
            (
                str(e.event_id),
                e.organisation_id,
                str(e.canonical_id),
                e.version,
                e.routing_key,
                e.payload,
                to_sqlite_time(e.created_at),
            )
            for e in result.events
        ],
    )
    at = to_sqlite_time(result.processed_at)
    conn.executemany(sql.MARK_PROCESSED, [(at, str(c), str(s)) for s, c in result.processed])


def _in_transaction(conn: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(statement, rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _process(conn: sqlite3.Connection, limit: int, plan: Planner) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        claimed = [
            Claimed(
                id=UUID(r[0]),
                organisation_id=r[1],
                trkref=r[2],
                order_ref=r[3],
                received_at=dt.datetime.fromisoformat(r[4]),
                normalised=r[5].encode(),
            )
            for r in conn.execute(sql.CLAIM, (limit,))
        ]
        existing = {}
        for key in {(c.organisation_id, c.order_ref) for c in claimed}:
            row = conn.execute(sql.SELECT_CANONICAL, key).fetchone()
            if row is not None:
                existing[key] = _canonical(row)
        if claimed:
            _write(conn, plan(claimed, existing))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(claimed)


class SqliteProcessingStore:
    """ProcessingStore on the SQLite file; its work runs on a SqliteStore's writer thread and connection.

    Inside `serve`, it is given the intake store and shares its writer: one writer in the process, so
    the two never wait for each other's lock (SQLite's busy handler sleeps in steps of up to 100 ms,
    which showed as intake latency). Elsewhere (`worker`, `events tail`) it opens a store of its own.
    """

    def __init__(self, path: Path, *, shared: SqliteStore | None = None) -> None:
        self._owned = shared is None
        self._store = SqliteStore(path) if shared is None else shared

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._store.run_on_writer(work)

    async def open(self) -> None:
        """Connect (a shared store is opened by its owner)."""
        if self._owned:
            await self._store.open()

    async def close(self) -> None:
        """Close its own store's connections and threads (a shared one is closed by its owner)."""
        if self._owned:
            await self._store.close()

    async def process(self, limit: int, plan: Planner) -> int:
        """Claim, read the orders, write the plan: one immediate transaction."""
        return await self._run(lambda conn: _process(conn, limit, plan))

    async def relay(self, limit: int, publish: Publisher) -> int:
        """Publish the oldest unsent events, then mark them sent (a crash between: sent again)."""
        rows = await self._run(lambda conn: [_outbox_row(r) for r in conn.execute(sql.SELECT_UNSENT, (limit,))])
        if rows:
            await publish(rows)
            at = to_sqlite_time(dt.datetime.now(dt.UTC))
            await self._run(lambda conn: _in_transaction(conn, sql.MARK_SENT, [(at, r.id) for r in rows]))
        return len(rows)

    async def events_after(self, after_id: int, trkref: str | None, limit: int) -> list[OutboxRow]:
        """Events past `after_id`, oldest first."""
        params = (after_id, trkref, trkref, limit)
        return await self._run(lambda conn: [_outbox_row(r) for r in conn.execute(sql.EVENTS_AFTER, params)])

    async def get_canonical(self, organisation_id: int, order_ref: str) -> StoredCanonical | None:
        """One canonical order, or None."""
        row = await self._run(lambda conn: conn.execute(sql.SELECT_CANONICAL, (organisation_id, order_ref)).fetchone())
        return None if row is None else _canonical(row)

    async def backlog(self) -> tuple[float, int]:
        """Oldest unprocessed submission's age and unsent events."""
        oldest, unsent = await self._run(lambda conn: conn.execute(sql.BACKLOG).fetchone())
        age = 0.0 if oldest is None else (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds()
        return max(age, 0.0), int(unsent)
