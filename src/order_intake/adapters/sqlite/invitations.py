"""Invitations on SQLite: read and written in the processing write transaction (one writer: no locks needed)."""

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec

from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.service.invitation_records import InvitationRow
from order_intake.service.invitations import InvitationPlanning
from order_intake.service.processing_records import Claimed, StoredCanonical

COLUMNS = (
    "id, organisation_id, order_ref, canonical_id, customer_key, email, order_date, fulfilment_date, country,"
    " sandbox, state, reason, send_at, sent_at, explanation, created_at, updated_at"
)
BY_ORDER = f"SELECT {COLUMNS} FROM invitations WHERE organisation_id = ? AND order_ref = ?"  # noqa: S608
# Only the rows another order can change (invitations_customer_live, whose predicate this repeats).
BY_CUSTOMER = f"""
SELECT {COLUMNS} FROM invitations WHERE organisation_id = ? AND customer_key = ?
   AND (state IN ('scheduled', 'sent') OR (state = 'skipped' AND reason = 'cooldown'))
"""  # noqa: S608 - constant column list
POLICY = "SELECT invitation_policy FROM organisations WHERE id = ?"
SUPPRESSION = "SELECT reason FROM suppressions WHERE organisation_id = ? AND email_hash = ?"
# As on PostgreSQL: a row recorded sent or failed is never written back as it was read.
UPSERT = f"""
INSERT INTO invitations ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (organisation_id, order_ref) DO UPDATE
   SET canonical_id = excluded.canonical_id, customer_key = excluded.customer_key, email = excluded.email,
       order_date = excluded.order_date, fulfilment_date = excluded.fulfilment_date, country = excluded.country,
       sandbox = excluded.sandbox, state = excluded.state, reason = excluded.reason, send_at = excluded.send_at,
       sent_at = excluded.sent_at, explanation = excluded.explanation, updated_at = excluded.updated_at
 WHERE invitations.state NOT IN ('sent', 'failed')
"""  # noqa: S608 - constant column list
_explanation = msgspec.json.Decoder(tuple[str, ...])


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def row_of(r: Sequence[Any]) -> InvitationRow:
    """A row as selected with COLUMNS."""
    return InvitationRow(
        id=UUID(r[0]),
        organisation_id=r[1],
        order_ref=r[2],
        canonical_id=UUID(r[3]),
        customer_key=r[4],
        email=r[5],
        order_date=_date(r[6]),
        fulfilment_date=_date(r[7]),
        country=r[8],
        sandbox=bool(r[9]),
        state=r[10],
        reason=r[11],
        send_at=_time(r[12]),
        sent_at=_time(r[13]),
        explanation=_explanation.decode(r[14]),
        created_at=dt.datetime.fromisoformat(r[15]),
        updated_at=dt.datetime.fromisoformat(r[16]),
    )


def _stored_time(value: dt.datetime | None) -> str | None:
    return None if value is None else to_sqlite_time(value)


def save(conn: sqlite3.Connection, rows: Iterable[InvitationRow]) -> None:
    """Insert or update these rows (by organisation and order_ref)."""
    conn.executemany(
        UPSERT,
        [
            (
                str(r.id),
                r.organisation_id,
                r.order_ref,
                str(r.canonical_id),
                r.customer_key,
                r.email,
                None if r.order_date is None else r.order_date.isoformat(),
                None if r.fulfilment_date is None else r.fulfilment_date.isoformat(),
                r.country,
                r.sandbox,
                r.state,
                r.reason,
                _stored_time(r.send_at),
                _stored_time(r.sent_at),
                msgspec.json.encode(r.explanation).decode(),
                to_sqlite_time(r.created_at),
                to_sqlite_time(r.updated_at),
            )
            for r in rows
        ],
    )


def rows_of_customers(conn: sqlite3.Connection, customers: Iterable[tuple[int, str]]) -> list[InvitationRow]:
    """Every invitation of these customers."""
    return [row_of(r) for key in sorted(customers) for r in conn.execute(BY_CUSTOMER, key)]


def context(
    conn: sqlite3.Connection, planning: InvitationPlanning, rows: Sequence[InvitationRow]
) -> tuple[dict[int, dict[str, object] | None], dict[tuple[int, bytes], str]]:
    """The organisations' policies and the suppressions of these rows' addresses."""
    policies: dict[int, dict[str, object] | None] = {}
    for organisation_id in {r.organisation_id for r in rows}:
        found = conn.execute(POLICY, (organisation_id,)).fetchone()
        policies[organisation_id] = msgspec.json.decode(found[0]) if found and found[0] else None
    suppressions = {}
    for organisation_id, digest in {(r.organisation_id, planning.email_hash(r.email)) for r in rows}:
        found = conn.execute(SUPPRESSION, (organisation_id, digest)).fetchone()
        if found is not None:
            suppressions[organisation_id, digest] = str(found[0])
    return policies, suppressions


def plan_changed(
    conn: sqlite3.Connection,
    planning: InvitationPlanning,
    changed: Sequence[StoredCanonical],
    claimed: Sequence[Claimed],
    now: dt.datetime,
) -> None:
    """Plan the invitations of these changed orders, and of their customers' other orders, and write them."""
    if not changed:
        return
    targets = planning.targets(changed, claimed, now)
    existing = [row_of(r) for key in planning.invited_before(changed) for r in conn.execute(BY_ORDER, key)]
    customer_rows = rows_of_customers(conn, planning.customers(targets, existing))
    policies, suppressions = context(conn, planning, [*targets, *customer_rows])
    rows = planning.assemble(
        targets=targets,
        existing=existing,
        customer_rows=customer_rows,
        policies=policies,
        suppressions=suppressions,
        now=now,
    )
    save(conn, rows)
