"""Processing and the event relay on SQLite: reads and plans on reader threads, writes on the writer's.

Every write is one immediate transaction on a SqliteStore's writer thread and connection, under
the file's shared write lock; a processing round's plan is written only if what it was made from
is unchanged (see SqliteProcessingStore.process).
"""

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from order_intake.adapters.sqlite import invitation_queries as queries
from order_intake.adapters.sqlite import processing_sql as sql
from order_intake.adapters.sqlite import review_queries
from order_intake.adapters.sqlite.intake import SqliteStore, immediate
from order_intake.adapters.sqlite.invitations import plan_changed
from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.domain.invitations import State
from order_intake.domain.reviews import Review
from order_intake.errors import ProcessingOvertaken
from order_intake.service.invitation_records import Cancellation, InvitationView, PurchaseRow
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.ports import Planner, Publisher
from order_intake.service.processing_records import Claimed, OrderKey, OutboxRow, Plan, StoredCanonical
from order_intake.service.review_records import ReviewSubject

T = TypeVar("T")
_Invitations = InvitationPlanning | None


class _Waiting(NamedTuple):
    claimed: list[Claimed]
    existing: dict[OrderKey, StoredCanonical]
    queued: dict[UUID, int]  # each claimed submission's place in submission_queue


class _Planned(NamedTuple):
    waiting: _Waiting
    plan: Plan


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
    return OutboxRow(id=row[0], event_id=UUID(row[1]), version=row[2], routing_key=row[3], payload=row[4])


def _planned(waiting: _Waiting, plan: Planner) -> _Planned:
    return _Planned(waiting, plan(waiting.claimed, waiting.existing))


def _waiting(conn: sqlite3.Connection, limit: int, skip: Collection[UUID]) -> _Waiting:
    """The oldest queued submissions (but those in `skip`) and their orders' canonical versions (in a transaction)."""
    if skip:
        rows = conn.execute(sql.CLAIM_SKIPPING, (json.dumps([str(s) for s in skip]), limit)).fetchall()
    else:
        rows = conn.execute(sql.CLAIM, (limit,)).fetchall()
    claimed = [
        Claimed(
            id=UUID(r[0]),
            organisation_id=r[1],
            trkref=r[2],
            order_ref=r[3],
            received_at=dt.datetime.fromisoformat(r[4]),
            normalised=r[5].encode(),
            sandbox=bool(r[6]),
        )
        for r in rows
    ]
    existing = {}
    for key in {(c.organisation_id, c.order_ref) for c in claimed}:
        row = conn.execute(sql.SELECT_CANONICAL, key).fetchone()
        if row is not None:
            existing[key] = _canonical(row)
    return _Waiting(claimed, existing, {c.id: r[7] for c, r in zip(claimed, rows, strict=True)})


def _read_and_plan(conn: sqlite3.Connection, limit: int, plan: Planner, skip: Collection[UUID]) -> _Planned | None:
    """On a reader: one snapshot of what waits, and the plan made of it (None if nothing waits)."""
    conn.execute("BEGIN")
    try:
        waiting = _waiting(conn, limit, skip)
    finally:
        conn.execute("COMMIT")
    return _planned(waiting, plan) if waiting.claimed else None


def _written_or_overtaken(written: bool) -> None:
    if not written:
        raise ProcessingOvertaken("the orders or submissions a plan was made from changed before it was written")


def _process_locked(
    conn: sqlite3.Connection, limit: int, plan: Planner, invitations: _Invitations, skip: Collection[UUID]
) -> int:
    """On the writer: read, plan and write in one immediate transaction (no other writer can interleave)."""
    with immediate(conn):
        waiting = _waiting(conn, limit, skip)
        if waiting.claimed:  # nothing can change what was read here: overtaken here would be a bug
            _written_or_overtaken(_apply(conn, _planned(waiting, plan), invitations))
    return len(waiting.claimed)


def _unchanged(conn: sqlite3.Connection, existing: Mapping[OrderKey, StoredCanonical]) -> bool:
    """Whether every order read is still at the version read (inside the write transaction)."""
    for stored in existing.values():
        row = conn.execute(sql.CANONICAL_VERSION, (str(stored.id),)).fetchone()
        if row is None or row[0] != stored.version:
            return False
    return True


def _write(conn: sqlite3.Connection, planned: _Planned, invitations: _Invitations) -> bool:
    """Write the plan if nothing it was made from changed since: one immediate transaction; False if it had."""
    try:
        with immediate(conn):
            _written_or_overtaken(_unchanged(conn, planned.waiting.existing) and _apply(conn, planned, invitations))
    except ProcessingOvertaken:  # rolled back: nothing of the plan was written
        return False
    return True


def _apply(conn: sqlite3.Connection, planned: _Planned, invitations: _Invitations) -> bool:
    result = planned.plan
    known = {stored.id for stored in planned.waiting.existing.values()}
    new = [c for c in result.canonicals if c.id not in known]
    inserted = conn.executemany(
        sql.INSERT_CANONICAL,
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
            for c in new
        ],
    ).rowcount
    if new and inserted != len(new):  # another processor made one of these orders first
        return False
    conn.executemany(
        sql.UPDATE_CANONICAL,
        [
            (c.version, c.document.decode(), c.stamps.decode(), to_sqlite_time(c.updated_at), str(c.id))
            for c in result.canonicals
            if c.id in known
        ],
    )
    at = to_sqlite_time(result.processed_at)
    taken = conn.executemany(sql.DEQUEUE, [(planned.waiting.queued[s],) for s, _ in result.processed]).rowcount
    if result.processed and taken != len(result.processed):  # processed (or erased) by someone else since
        return False
    conn.executemany(sql.MARK_PROCESSED, [(str(s), str(c), at) for s, c in result.processed])
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
    if invitations is not None:
        plan_changed(conn, invitations, result.canonicals, planned.waiting.claimed, result.processed_at)
    return True


def _in_transaction(conn: sqlite3.Connection, statement: str, rows: list[tuple[Any, ...]]) -> None:
    with immediate(conn):
        conn.executemany(statement, rows)


class SqliteProcessingStore:
    """ProcessingStore on the SQLite file, on a SqliteStore's threads: reads on its readers, writes on its writer.

    Inside `serve`, it is given the intake store and shares its writer: one writer in the process, so
    processing and intake take turns on one thread. Elsewhere (`worker`, `events tail`) it opens a
    store of its own, whose writer takes turns with the server's on the file's write lock.
    """

    def __init__(self, path: Path, *, shared: SqliteStore | None = None) -> None:
        self._owned = shared is None
        self._store = SqliteStore(path) if shared is None else shared

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._store.run_on_writer(work)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._store.run_on_reader(work)

    async def open(self) -> None:
        """Connect (a shared store is opened by its owner)."""
        if self._owned:
            await self._store.open()

    async def close(self) -> None:
        """Close its own store's connections and threads (a shared one is closed by its owner)."""
        if self._owned:
            await self._store.close()

    # hot path: read and plan on a reader, hold the write lock only to write (docs/hot-path.md)
    async def process(
        self, limit: int, plan: Planner, invitations: _Invitations = None, skip: Collection[UUID] = ()
    ) -> int:
        """Read the oldest accepted submissions and their orders, plan, then write the plan.

        Reading and planning run on a reader thread, outside any write transaction, so the writer
        (which inside `serve` also commits the intake's orders) is held only while the plan is
        written. The write checks, in its immediate transaction, that every order read is still at
        the version read and every submission still waiting; if another processor (or an erasure)
        got there first, nothing is written and the round is made again holding the writer's lock
        from read to write, where nothing can overtake it (so concurrent processors always progress).
        """
        planned = await self._read(lambda conn: _read_and_plan(conn, limit, plan, skip))
        if planned is None:
            return 0
        if await self._run(lambda conn: _write(conn, planned, invitations)):
            return len(planned.waiting.claimed)
        # Overtaken (several processors, or an erasure): this round holds the lock from read to write.
        return await self._run(lambda conn: _process_locked(conn, limit, plan, invitations, skip))

    async def relay(self, limit: int, publish: Publisher) -> int:
        """Publish the oldest unsent events, then take them off the pending list (a crash between: sent again)."""
        rows = await self._read(lambda conn: [_outbox_row(r) for r in conn.execute(sql.SELECT_UNSENT, (limit,))])
        if rows:
            await publish(rows)
            await self._run(lambda conn: _in_transaction(conn, sql.MARK_SENT, [(r.id,) for r in rows]))
        return len(rows)

    async def events_after(self, after_id: int, trkref: str | None, limit: int) -> list[OutboxRow]:
        """Events past `after_id`, oldest first."""
        params = (after_id, trkref, trkref, limit)
        return await self._read(lambda conn: [_outbox_row(r) for r in conn.execute(sql.EVENTS_AFTER, params)])

    async def get_canonical(self, organisation_id: int, order_ref: str) -> StoredCanonical | None:
        """One canonical order, or None."""
        row = await self._read(lambda conn: conn.execute(sql.SELECT_CANONICAL, (organisation_id, order_ref)).fetchone())
        return None if row is None else _canonical(row)

    async def invitation(self, organisation_id: int, order_ref: str) -> InvitationView | None:
        """One order's invitation and its organisation's policy settings."""
        return await self._read(lambda conn: queries.invitation(conn, organisation_id, order_ref))

    async def purchases(self, organisation_id: int, email: str) -> list[PurchaseRow]:
        """Every invited order of this address in the organisation."""
        return await self._read(lambda conn: queries.purchases(conn, organisation_id, email))

    async def cancel_invitation(
        self, planning: InvitationPlanning, cancellation: Cancellation
    ) -> InvitationView | State | None:
        """Cancel one order's invitation and plan the customer's others again, in one transaction."""
        return await self._run(lambda conn: queries.cancel_invitation(conn, planning, cancellation))

    async def review_subject(self, invitation_id: UUID) -> ReviewSubject | None:
        """The invitation a customer's link names, with its organisation's name, order and reviews."""
        return await self._read(lambda conn: review_queries.review_subject(conn, invitation_id))

    async def save_reviews(self, invitation_id: UUID, reviews: Sequence[Review], at: dt.datetime) -> bool:
        """Store the reviews and call off the unsent reminder, in one transaction on the writer."""
        return await self._run(lambda conn: review_queries.save_reviews(conn, invitation_id, reviews, at))

    async def signing_key(self) -> bytes:
        """ORDER_INTAKE_SECRET_KEY, else the file's (made by whoever asks first)."""
        configured = os.environ.get("ORDER_INTAKE_SECRET_KEY")
        if configured:
            return configured.encode()
        made = secrets.token_bytes(32)
        await self._run(lambda conn: _in_transaction(conn, sql.MAKE_SIGNING_KEY, [(made,)]))
        row = await self._read(lambda conn: conn.execute(sql.SIGNING_KEY).fetchone())
        return bytes(row[0])

    async def backlog(self, *, unsent: bool) -> tuple[float, int | None]:
        """Oldest unprocessed submission's age and, if asked for, the events not yet sent."""
        oldest, count = await self._read(lambda conn: conn.execute(sql.BACKLOG, (unsent,)).fetchone())
        age = 0.0 if oldest is None else (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds()
        return max(age, 0.0), None if count is None else int(count)
