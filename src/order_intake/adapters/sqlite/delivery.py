"""Invitation delivery on SQLite: claims and outcomes are immediate transactions, one writer at a time."""

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import msgspec

from order_intake.adapters.sqlite.intake import SqliteStore, immediate
from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.domain.delivery import Kind
from order_intake.service.delivery_records import Due

__all__ = ["SqliteDeliveries"]

_DUE: Final = {
    Kind.INVITATION: ("state = 'scheduled' AND send_at <= ?", "send_at"),
    Kind.REMINDER: (
        "reminder_at IS NOT NULL AND reminder_sent_at IS NULL AND state = 'sent' AND reminder_at <= ?",
        "reminder_at",
    ),
}
_FIND: Final = """
SELECT i.id FROM invitations i
 WHERE {due} AND (i.next_attempt_at IS NULL OR i.next_attempt_at <= ?)
 ORDER BY i.{order} LIMIT ?
"""
_HOLD: Final = "UPDATE invitations SET next_attempt_at = ? WHERE id = ?"
_READ: Final = """
SELECT i.id, i.organisation_id, i.order_ref, i.customer_key, i.email, i.sandbox, i.attempts, i.explanation,
       o.name, o.invitation_policy, c.document,
       EXISTS (SELECT 1 FROM reviews r WHERE r.invitation_id = i.id)
  FROM invitations i
  JOIN organisations o ON o.id = i.organisation_id
  JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.id = ?
"""
# As on PostgreSQL: an invitation suppressed while its message was on its way plans no reminder.
_SENT: Final = {
    Kind.INVITATION: """
UPDATE invitations SET state = 'sent', reason = NULL, sent_at = ?,
       reminder_at = CASE WHEN state = 'suppressed' THEN NULL ELSE ? END, explanation = ?,
       next_attempt_at = NULL, attempts = 0, last_error = NULL, updated_at = ?
 WHERE id = ?""",
    Kind.REMINDER: """
UPDATE invitations SET reminder_sent_at = ?, reminder_at = coalesce(reminder_at, ?), explanation = ?,
       next_attempt_at = NULL, attempts = 0, last_error = NULL, updated_at = ?
 WHERE id = ?""",
}
_FAILED: Final = {
    Kind.INVITATION: """
UPDATE invitations SET state = 'failed', reason = 'rejected_by_mail_server', send_at = NULL, explanation = ?,
       next_attempt_at = NULL, updated_at = ? WHERE id = ?""",
    Kind.REMINDER: "UPDATE invitations SET reminder_at = NULL, explanation = ?, next_attempt_at = NULL, updated_at = ? "
    "WHERE id = ?",
}
_RETRY: Final = "UPDATE invitations SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?"
_explanation = msgspec.json.Decoder(tuple[str, ...]).decode
_policy = msgspec.json.Decoder(dict[str, object]).decode
_encode = msgspec.json.encode


def _due(kind: Kind, r: tuple[Any, ...]) -> Due:
    return Due(
        id=UUID(r[0]),
        kind=kind,
        organisation_id=r[1],
        order_ref=r[2],
        customer_key=r[3],
        email=r[4],
        sandbox=bool(r[5]),
        attempts=r[6],
        explanation=_explanation(r[7]),
        organisation=r[8],
        policy=_policy(r[9]) if r[9] else None,
        document=r[10].encode() if isinstance(r[10], str) else bytes(r[10]),
        reviewed=bool(r[11]),
    )


def _claim(conn: sqlite3.Connection, kind: Kind, now: str, until: str, limit: int) -> list[Due]:
    due, order = _DUE[kind]
    with immediate(conn):
        ids = [r[0] for r in conn.execute(_FIND.format(due=due, order=order), (now, now, limit))]
        conn.executemany(_HOLD, [(until, i) for i in ids])
        return [_due(kind, conn.execute(_READ, (i,)).fetchone()) for i in ids]


def _one(conn: sqlite3.Connection, statement: str, args: tuple[object, ...]) -> None:
    with immediate(conn):
        conn.execute(statement, args)


class SqliteDeliveries:
    """Deliveries on the SQLite file, through a store of its own (its writer takes turns on the file's lock)."""

    def __init__(self, path: Path) -> None:
        self._store = SqliteStore(path)

    async def open(self) -> None:
        """Open the file."""
        await self._store.open()

    async def close(self) -> None:
        """Close the store's connections."""
        await self._store.close()

    async def claim(self, kind: Kind, now: dt.datetime, lease_until: dt.datetime, limit: int) -> list[Due]:
        """Due messages nobody holds, held until `lease_until`."""
        at, until = to_sqlite_time(now), to_sqlite_time(lease_until)
        return await self._store.run_on_writer(lambda conn: _claim(conn, kind, at, until, limit))

    async def sent(
        self, due: Due, at: dt.datetime, reminder_at: dt.datetime | None, explanation: Sequence[str]
    ) -> None:
        """Record the message sent."""
        when = to_sqlite_time(at)
        remind = None if reminder_at is None else to_sqlite_time(reminder_at)
        lines = _encode(list(explanation)).decode()
        args = (when, remind, lines, when, str(due.id))
        await self._store.run_on_writer(lambda conn: _one(conn, _SENT[due.kind], args))

    async def failed(self, due: Due, at: dt.datetime, explanation: Sequence[str]) -> None:
        """Record the recipient refused, or the reminder called off."""
        args = (_encode(list(explanation)).decode(), to_sqlite_time(at), str(due.id))
        await self._store.run_on_writer(lambda conn: _one(conn, _FAILED[due.kind], args))

    async def retry(self, due: Due, at: dt.datetime, error: str | None) -> None:
        """Count a temporary failure; due again at `at`."""
        args = (to_sqlite_time(at), error, str(due.id))
        await self._store.run_on_writer(lambda conn: _one(conn, _RETRY, args))
