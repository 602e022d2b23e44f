"""The store on PostgreSQL, through an asyncpg pool; a group of units is one transaction."""

import asyncio
import contextlib
import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg

from order_intake.adapters.postgres import intake_sql as sql
from order_intake.adapters.postgres.pool import TIMEOUT, keep_session, pooled
from order_intake.errors import StoreUnavailable
from order_intake.service.ports import IDEMPOTENCY_WINDOW
from order_intake.service.records import (
    ApiKey,
    IdempotencyRecord,
    NewBatch,
    NewSubmission,
    StoredBatch,
    StoredSubmission,
    UnitOutcome,
    WriteUnit,
    keys_from_rows,
)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy


def _idempotency(row: asyncpg.Record) -> IdempotencyRecord:
    return IdempotencyRecord(
        api_key_id=row["api_key_id"],
        key=row["key"],
        fingerprint=bytes(row["fingerprint"]),
        status=row["status"],
        response=bytes(row["response"]),
        created_at=row["created_at"],
    )


async def _insert_batches(conn: "PoolConnectionProxy[asyncpg.Record]", batches: list[NewBatch]) -> None:
    await conn.execute(
        sql.INSERT_BATCHES,
        [b.id for b in batches],
        [b.api_key_id for b in batches],
        [b.received_at for b in batches],
        [b.answer for b in batches],
    )
    links = [(b.id, org) for b in batches for org in b.organisation_ids]
    if links:
        await conn.execute(sql.INSERT_BATCH_ORGANISATIONS, [b for b, _ in links], [o for _, o in links])


# hot path: binary COPY, not INSERT ... SELECT FROM unnest(arrays) (docs/hot-path.md)
async def _insert_submissions(conn: "PoolConnectionProxy[asyncpg.Record]", s: Sequence[NewSubmission]) -> None:
    await conn.copy_records_to_table(
        sql.SUBMISSIONS_TABLE,
        columns=sql.SUBMISSION_COLUMNS,
        records=[
            (
                r.id,
                r.organisation_id,
                r.api_key_id,
                r.received_at,
                r.body,
                r.normalised.decode(),
                r.order_ref,
                r.idempotency_key,
                r.request_id,
                r.batch_id,
            )
            for r in s
        ],
    )


async def _commit_with_claims(
    conn: "PoolConnectionProxy[asyncpg.Record]", units: Sequence[WriteUnit]
) -> list[UnitOutcome]:
    """Inside a transaction: claim the units' Idempotency-Keys, store the winners' batches and submissions."""
    claims = [u.idempotency for u in units if u.idempotency is not None]
    won: set[tuple[int, str]] = set()
    if claims:
        rows = await conn.fetch(
            sql.CLAIM_IDEMPOTENCY,
            [c.api_key_id for c in claims],
            [c.key for c in claims],
            [c.fingerprint for c in claims],
            [c.status for c in claims],
            [c.response for c in claims],
            [c.created_at for c in claims],
            IDEMPOTENCY_WINDOW,
        )
        won = {(r["api_key_id"], r["key"]) for r in rows}
    outcomes: list[UnitOutcome] = []
    rows_to_insert: list[NewSubmission] = []
    batches: list[NewBatch] = []
    for unit in units:
        claim = unit.idempotency
        if claim is None or (claim.api_key_id, claim.key) in won:
            rows_to_insert.extend(unit.submissions)
            if unit.batch is not None:
                batches.append(unit.batch)
            outcomes.append(None)
        else:
            since = claim.created_at - IDEMPOTENCY_WINDOW
            row = await conn.fetchrow(sql.SELECT_IDEMPOTENCY, claim.api_key_id, claim.key, since)
            assert row is not None  # noqa: S101 - the conflicting row is fresh, or the upsert replaced it
            outcomes.append(_idempotency(row))
    if batches:
        await _insert_batches(conn, batches)
    if rows_to_insert:
        await _insert_submissions(conn, rows_to_insert)
    return outcomes


# Inside a transaction of a standby, or of a database or server set read-only, this is 'on'.
_WRITABLE = "SELECT current_setting('transaction_read_only') = 'off'"


class PostgresStore:
    """Store on PostgreSQL; every driver error that means 'no database' becomes StoreUnavailable."""

    def __init__(self, dsn: str, *, pool_size: int) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._warm: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Create the pool (connections are made lazily, so a down database does not stop start-up)."""
        self._pool = asyncpg.create_pool(
            self._dsn,
            min_size=0,
            max_size=self._pool_size,
            timeout=TIMEOUT,
            command_timeout=10,
            reset=keep_session,
        )
        await self._pool
        self._warm = asyncio.create_task(self._warm_up())

    async def _warm_up(self) -> None:
        """Open a few connections now, so that the first requests do not each wait for one."""
        with contextlib.suppress(StoreUnavailable):
            async with self._connection(), self._connection():
                pass

    async def close(self) -> None:
        """Close the pool, waiting for connections in use."""
        if self._warm is not None:
            await self._warm
        if self._pool is not None:
            await self._pool.close()

    def _connection(self) -> AbstractAsyncContextManager["PoolConnectionProxy[asyncpg.Record]"]:
        assert self._pool is not None  # noqa: S101 - open() ran in __rsgi_init__
        return pooled(self._pool)

    async def ping(self) -> bool:
        """True while the database answers and takes writes (not a standby, not made read-only)."""
        try:
            async with self._connection() as conn:
                return bool(await conn.fetchval(_WRITABLE, timeout=TIMEOUT))
        except StoreUnavailable:
            return False

    # hot path: a group of plain submissions is one statement, without BEGIN and COMMIT (docs/hot-path.md)
    async def commit_units(self, units: Sequence[WriteUnit]) -> list[UnitOutcome]:
        """Claim idempotency keys, insert the winners' submissions, all in one transaction.

        The common group (submissions only: no Idempotency-Key, no batch) is one INSERT statement,
        atomic by itself, so it goes without BEGIN and COMMIT: one round trip per commit, not three.
        """
        async with self._connection() as conn:
            if any(u.idempotency is not None or u.batch is not None for u in units):
                async with conn.transaction():
                    return await _commit_with_claims(conn, units)
            await _insert_submissions(conn, [row for unit in units for row in unit.submissions])
            return [None] * len(units)

    async def find_key(self, username: str) -> ApiKey | None:
        """The key and its organisations, in one query."""
        async with self._connection() as conn:
            rows = await conn.fetch(sql.SELECT_KEY, username, timeout=TIMEOUT)
        return next(iter(keys_from_rows(rows)), None)

    async def all_keys(self) -> list[ApiKey]:
        """Every key and its organisations, revoked or not, in one query."""
        async with self._connection() as conn:
            rows = await conn.fetch(sql.SELECT_KEYS, timeout=TIMEOUT)
        return keys_from_rows(rows)

    async def get_submission(self, organisation_id: int, submission_id: UUID) -> StoredSubmission | None:
        """One submission of this organisation, or None."""
        async with self._connection() as conn:
            row = await conn.fetchrow(sql.SELECT_SUBMISSION, organisation_id, submission_id, timeout=TIMEOUT)
        if row is None:
            return None
        return StoredSubmission(
            id=row["id"],
            organisation_id=row["organisation_id"],
            received_at=row["received_at"],
            normalised=row["normalised"].encode(),
            processed_at=row["processed_at"],
            canonical_id=row["canonical_id"],
        )

    async def get_batch(self, batch_id: UUID, api_key_id: int, organisation_ids: Sequence[int]) -> StoredBatch | None:
        """The batch, if these organisations include every one it touched (it touched none: if this key sent it)."""
        async with self._connection() as conn:
            row = await conn.fetchrow(sql.SELECT_BATCH, batch_id, api_key_id, list(organisation_ids), timeout=TIMEOUT)
        return None if row is None else StoredBatch(id=row["id"], received_at=row["received_at"], answer=row["answer"])

    async def find_idempotency(self, api_key_id: int, key: str, since: dt.datetime) -> IdempotencyRecord | None:
        """The unexpired record for this key, or None."""
        async with self._connection() as conn:
            row = await conn.fetchrow(sql.SELECT_IDEMPOTENCY, api_key_id, key, since, timeout=TIMEOUT)
        return None if row is None else _idempotency(row)
