"""Invitation delivery on PostgreSQL: due rows claimed (SKIP LOCKED, then a lease), each outcome one statement.

Processing re-plans a customer's invitations from what it read under the customer's lock; its
write never overwrites a row recorded sent or failed meanwhile (invitations.UPSERT), so recording
an outcome needs no lock.
"""

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import asyncpg
import msgspec

from order_intake.adapters.postgres.pool import PLANNED_EACH_TIME, TIMEOUT, on_connection
from order_intake.domain.delivery import Kind
from order_intake.service.delivery_records import Due

if TYPE_CHECKING:
    from order_intake.adapters.postgres.invitations import Connection

__all__ = ["PgDeliveries"]

_DUE: Final = {
    Kind.INVITATION: (
        "state = 'scheduled' AND send_at <= $1",
        "send_at",
    ),
    Kind.REMINDER: (
        "reminder_at IS NOT NULL AND reminder_sent_at IS NULL AND state = 'sent' AND reminder_at <= $1",
        "reminder_at",
    ),
}
# The due rows are found by walking the due index in order, stopping at the batch: with bitmap scans and
# sorts priced out for that one statement, no other plan is left to it, whatever the planner believes
# about how many rows are due (planned for the few that PostgreSQL guesses without statistics, it read
# and sorted all 40,000 due for 50). The rest of the claim is planned as usual: priced out there too,
# a sort was replaced by reading canonical_orders whole in index order, and sending went 4 times slower.
WALK_THE_INDEX: Final = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off"
_AS_USUAL: Final = "SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_sort TO DEFAULT"
_DUE_ROWS: Final = """
SELECT id FROM invitations
 WHERE {due} AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
 ORDER BY {order} LIMIT $2
   FOR UPDATE SKIP LOCKED
"""
_HOLD: Final = """
WITH held AS (
    UPDATE invitations i SET next_attempt_at = $2 WHERE i.id = ANY($1::uuid[])
    RETURNING i.id, i.organisation_id, i.order_ref, i.customer_key, i.email, i.sandbox, i.attempts,
              i.explanation::text AS explanation, i.canonical_id, i.{order} AS due_at
)
SELECT h.*, o.name AS organisation, o.invitation_policy::text AS policy, c.document::text AS document,
       EXISTS (SELECT 1 FROM reviews r WHERE r.invitation_id = h.id) AS reviewed
  FROM held h
  JOIN organisations o ON o.id = h.organisation_id
  JOIN canonical_orders c ON c.id = h.canonical_id
 ORDER BY h.due_at
"""


def due_rows_statement(kind: Kind) -> str:
    """The rows of one kind of message due (parameters: now, limit), to run after WALK_THE_INDEX."""
    due, order = _DUE[kind]
    return _DUE_ROWS.format(due=due, order=order)


async def _claim(
    conn: "Connection", kind: Kind, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[asyncpg.Record]:
    await conn.execute(WALK_THE_INDEX)
    ids = [r[0] for r in await conn.fetch(due_rows_statement(kind), now, limit)]
    await conn.execute(_AS_USUAL)
    if not ids:
        return []
    return await conn.fetch(_HOLD.format(order=_DUE[kind][1]), ids, lease_until)


# An invitation suppressed while its message was on its way (an unsubscribe or bounce re-planned it) is
# recorded sent, as it was, but plans no reminder: the suppression found none to call off.
_SENT: Final = {
    Kind.INVITATION: """
UPDATE invitations SET state = 'sent', reason = NULL, sent_at = $2,
       reminder_at = CASE WHEN state = 'suppressed' THEN NULL ELSE $3::timestamptz END, explanation = $4::json,
       next_attempt_at = NULL, attempts = 0, last_error = NULL, updated_at = $2
 WHERE id = $1""",
    Kind.REMINDER: """
UPDATE invitations SET reminder_sent_at = $2, explanation = $3::json,
       next_attempt_at = NULL, attempts = 0, last_error = NULL, updated_at = $2
 WHERE id = $1""",
}
_FAILED: Final = {
    Kind.INVITATION: """
UPDATE invitations SET state = 'failed', reason = 'rejected_by_mail_server', send_at = NULL, explanation = $3::json,
       next_attempt_at = NULL, updated_at = $2
 WHERE id = $1""",
    Kind.REMINDER: """
UPDATE invitations SET reminder_at = NULL, explanation = $3::json, next_attempt_at = NULL, updated_at = $2
 WHERE id = $1""",
}
_RETRY: Final = """
UPDATE invitations SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1
"""
_explanation = msgspec.json.Decoder(tuple[str, ...]).decode
_policy = msgspec.json.Decoder(dict[str, object]).decode
_encode = msgspec.json.encode


def _due(kind: Kind, r: asyncpg.Record) -> Due:
    return Due(
        id=r["id"],
        kind=kind,
        organisation_id=r["organisation_id"],
        organisation=r["organisation"],
        order_ref=r["order_ref"],
        customer_key=r["customer_key"],
        email=r["email"],
        sandbox=r["sandbox"],
        attempts=r["attempts"],
        explanation=_explanation(r["explanation"]),
        policy=_policy(r["policy"]) if r["policy"] else None,
        document=r["document"].encode(),
        reviewed=r["reviewed"],
    )


class PgDeliveries:
    """Deliveries on PostgreSQL, with a pool of its own (one sender: one connection at a time)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Create the pool (its connection is made when first needed)."""
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=2, timeout=TIMEOUT, command_timeout=30, server_settings=PLANNED_EACH_TIME
        )

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()

    def _pooled(self) -> asyncpg.Pool:
        assert self._pool is not None  # noqa: S101 - open() ran first
        return self._pool

    async def claim(self, kind: Kind, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[Due]:
        """Due messages nobody holds, held until `lease_until`."""
        found = await on_connection(
            self._pooled(), lambda conn: _claim(conn, kind, now, lease_until, limit), transaction=True
        )
        return [_due(kind, r) for r in found]

    async def _one(self, statement: str, *args: object) -> None:
        await on_connection(self._pooled(), lambda conn: conn.execute(statement, *args))

    async def sent(
        self, due: Due, at: dt.datetime, reminder_at: dt.datetime | None, explanation: Sequence[str]
    ) -> None:
        """Record the message sent."""
        lines = _encode(list(explanation)).decode()
        if due.kind is Kind.INVITATION:
            await self._one(_SENT[due.kind], due.id, at, reminder_at, lines)
        else:
            await self._one(_SENT[due.kind], due.id, at, lines)

    async def failed(self, due: Due, at: dt.datetime, explanation: Sequence[str]) -> None:
        """Record the recipient refused, or the reminder called off."""
        await self._one(_FAILED[due.kind], due.id, at, _encode(list(explanation)).decode())

    async def retry(self, due: Due, at: dt.datetime, error: str | None) -> None:
        """Count a temporary failure; due again at `at`."""
        await self._one(_RETRY, due.id, at, error)
