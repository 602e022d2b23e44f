"""Processing and the event relay on PostgreSQL: row claiming with SKIP LOCKED, per-order advisory locks."""

import datetime as dt
import os
import secrets
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from order_intake.adapters.postgres import invitation_queries as queries
from order_intake.adapters.postgres import processing_sql as sql
from order_intake.adapters.postgres import review_queries
from order_intake.adapters.postgres.invitations import plan_changed
from order_intake.adapters.postgres.locks import LOCK_ORDERS, lock_key
from order_intake.adapters.postgres.pool import PLANNED_EACH_TIME, TIMEOUT, on_connection
from order_intake.domain.invitations import State
from order_intake.domain.reviews import Review
from order_intake.errors import StoreUnavailable
from order_intake.service.invitation_records import Cancellation, InvitationView, PurchaseRow
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.ports import Planner, Publisher
from order_intake.service.processing_records import Claimed, OutboxEvent, OutboxRow, StoredCanonical
from order_intake.service.review_records import ReviewSubject

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# A transaction left idle this long (a hung processor) is ended by the server, releasing its rows; and
# every statement is planned for its own arguments (pool.PLANNED_EACH_TIME).
_SETTINGS = {"idle_in_transaction_session_timeout": "30s", **PLANNED_EACH_TIME}


def _canonical(row: asyncpg.Record) -> StoredCanonical:
    return StoredCanonical(
        id=row["id"],
        organisation_id=row["organisation_id"],
        order_ref=row["order_ref"],
        version=row["version"],
        document=row["document"].encode(),
        stamps=row["stamps"].encode(),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _outbox_row(row: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=row["id"],
        event_id=row["event_id"],
        version=row["version"],
        routing_key=row["routing_key"],
        payload=bytes(row["payload"]),
    )


class PgProcessingStore:
    """ProcessingStore on PostgreSQL, with a small pool of its own."""

    def __init__(self, dsn: str, *, pool_size: int = 2) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Create the pool (connections are made when first needed)."""
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self._pool_size,
            timeout=TIMEOUT,
            command_timeout=30,
            server_settings=_SETTINGS,
        )

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()

    def _pool_or_fail(self) -> asyncpg.Pool:
        assert self._pool is not None  # noqa: S101 - open() ran first
        return self._pool

    # hot path: the plan runs on the event loop, not a thread (docs/hot-path.md)
    async def process(
        self,
        limit: int,
        plan: Planner,
        invitations: InvitationPlanning | None = None,
        skip: Collection[UUID] = (),
    ) -> int:
        """Claim, lock the orders, read them, write the plan: one transaction.

        The plan runs on the event loop: processing has a process of its own (`order-intake worker`),
        where handing it to a thread only added the hop and a fight for the GIL with the loop.
        """
        return await on_connection(
            self._pool_or_fail(), lambda conn: _process(conn, limit, plan, invitations, skip), transaction=True
        )

    async def relay(self, limit: int, publish: Publisher) -> int:
        """Take the oldest unsent events off the pending list and publish them: one transaction."""
        return await on_connection(self._pool_or_fail(), lambda conn: _relay(conn, limit, publish), transaction=True)

    async def events_after(self, after_id: int, trkref: str | None, limit: int) -> list[OutboxRow]:
        """Events past `after_id`, oldest first."""
        rows = await on_connection(
            self._pool_or_fail(), lambda conn: conn.fetch(sql.EVENTS_AFTER, after_id, trkref, limit)
        )
        return [_outbox_row(r) for r in rows]

    async def get_canonical(self, organisation_id: int, order_ref: str) -> StoredCanonical | None:
        """One canonical order, or None."""
        row = await on_connection(
            self._pool_or_fail(),
            lambda conn: conn.fetchrow(sql.SELECT_CANONICAL, organisation_id, order_ref, timeout=TIMEOUT),
        )
        return None if row is None else _canonical(row)

    async def invitation(self, organisation_id: int, order_ref: str) -> InvitationView | None:
        """One order's invitation and its organisation's policy settings."""
        return await on_connection(
            self._pool_or_fail(), lambda conn: queries.invitation(conn, organisation_id, order_ref)
        )

    async def purchases(self, organisation_id: int, email: str) -> list[PurchaseRow]:
        """Every invited order of this address in the organisation."""
        return await on_connection(self._pool_or_fail(), lambda conn: queries.purchases(conn, organisation_id, email))

    async def cancel_invitation(
        self, planning: InvitationPlanning, cancellation: Cancellation
    ) -> InvitationView | State | None:
        """Cancel one order's invitation and plan the customer's others again, in one transaction."""
        return await on_connection(
            self._pool_or_fail(), lambda conn: queries.cancel_invitation(conn, planning, cancellation), transaction=True
        )

    async def review_subject(self, invitation_id: UUID) -> ReviewSubject | None:
        """The invitation a customer's link names, with its organisation's name, order and reviews."""
        pool = self._pool_or_fail()
        return await on_connection(pool, lambda conn: review_queries.review_subject(conn, invitation_id))

    async def save_reviews(self, invitation_id: UUID, reviews: Sequence[Review], at: dt.datetime) -> bool:
        """Store the reviews and call off the unsent reminder, in one transaction."""
        return await on_connection(
            self._pool_or_fail(),
            lambda conn: review_queries.save_reviews(conn, invitation_id, reviews, at),
            transaction=True,
        )

    async def signing_key(self) -> bytes:
        """ORDER_INTAKE_SECRET_KEY, else the database's (made by whoever asks first)."""
        configured = os.environ.get("ORDER_INTAKE_SECRET_KEY")
        if configured:
            return configured.encode()
        made = secrets.token_bytes(32)
        for _ in range(2):  # a first run can race another node's first run: the second statement sees its key
            row = await on_connection(self._pool_or_fail(), lambda conn: conn.fetchrow(sql.SIGNING_KEY, made))
            if row is not None:
                return bytes(row[0])
        msg = "no signing key in service_secrets"
        raise StoreUnavailable(msg)

    async def backlog(self, *, unsent: bool) -> tuple[float, int | None]:
        """Oldest unprocessed submission's age and, if asked for, the events not yet sent."""
        row = await on_connection(
            self._pool_or_fail(), lambda conn: conn.fetchrow(sql.BACKLOG, unsent, timeout=TIMEOUT)
        )
        assert row is not None  # noqa: S101 - an aggregate always answers one row
        return float(row[0]), None if row[1] is None else int(row[1])


# hot path: the functions below run inside on_connection and hold no `async with` or `finally` of
# their own: compiled coroutines must not await while an exception unwinds (docs/hot-path.md).
async def _process(
    conn: "PoolConnectionProxy[asyncpg.Record]",
    limit: int,
    plan: Planner,
    invitations: InvitationPlanning | None,
    skip: Collection[UUID],
) -> int:
    claimed = [
        Claimed(
            id=r["id"],
            organisation_id=r["organisation_id"],
            trkref=r["trkref"],
            order_ref=r["order_ref"],
            received_at=r["received_at"],
            normalised=r["normalised"].encode(),
            sandbox=r["sandbox"],
        )
        for r in await _claim(conn, limit, skip)
    ]
    if not claimed:
        return 0
    keys = list({(c.organisation_id, c.order_ref) for c in claimed})
    await conn.execute(LOCK_ORDERS, [lock_key(k) for k in keys])
    rows = await conn.fetch(sql.SELECT_CANONICALS, [k[0] for k in keys], [k[1] for k in keys])
    existing = {(r["organisation_id"], r["order_ref"]): _canonical(r) for r in rows}
    result = plan(claimed, existing)
    await _write(conn, result.canonicals, result.events, {c.id for c in existing.values()})
    if invitations is not None:
        await plan_changed(conn, invitations, result.canonicals, claimed, result.processed_at)
    await conn.execute(
        sql.MARK_PROCESSED,
        result.processed_at,
        [p[0] for p in result.processed],
        [p[1] for p in result.processed],
    )
    return len(claimed)


async def _claim(
    conn: "PoolConnectionProxy[asyncpg.Record]", limit: int, skip: Collection[UUID]
) -> list[asyncpg.Record]:
    if skip:
        queued = await conn.fetch(sql.CLAIM_SKIPPING, limit, list(skip))
    else:
        queued = await conn.fetch(sql.CLAIM, limit)
    ids = [r[0] for r in queued]
    return await conn.fetch(sql.CLAIMED, ids) if ids else []


async def _relay(conn: "PoolConnectionProxy[asyncpg.Record]", limit: int, publish: Publisher) -> int:
    rows = [_outbox_row(r) for r in await conn.fetch(sql.CLAIM_PENDING, limit)]
    if rows:
        await publish(rows)
    return len(rows)


async def _write(
    conn: "PoolConnectionProxy[asyncpg.Record]",
    canonicals: tuple[StoredCanonical, ...],
    events: tuple[OutboxEvent, ...],
    stored: set[UUID],
) -> None:
    """New orders go in by binary COPY (nobody else can make them: their advisory locks are held), the rest by UPDATE.

    hot path: COPY, as for submissions; an upsert of every order cost twice as much (docs/hot-path.md).
    """
    new = [x for x in canonicals if x.id not in stored]
    if new:
        await conn.copy_records_to_table(
            sql.CANONICAL_TABLE,
            columns=sql.CANONICAL_COLUMNS,
            records=[
                (
                    x.id,
                    x.organisation_id,
                    x.order_ref,
                    x.version,
                    x.document.decode(),
                    x.stamps.decode(),
                    x.created_at,
                    x.updated_at,
                )
                for x in new
            ],
        )
    changed = [x for x in canonicals if x.id in stored]
    if changed:
        await conn.execute(
            sql.UPDATE_CANONICALS,
            [x.id for x in changed],
            [x.version for x in changed],
            [x.document.decode() for x in changed],
            [x.stamps.decode() for x in changed],
            [x.updated_at for x in changed],
        )
    if events:  # hot path: events go in by binary COPY, as submissions do (docs/hot-path.md)
        await conn.copy_records_to_table(
            sql.OUTBOX_TABLE,
            columns=sql.EVENT_COLUMNS,
            records=[
                (x.event_id, x.organisation_id, x.canonical_id, x.version, x.routing_key, x.payload, x.created_at)
                for x in events
            ],
        )
