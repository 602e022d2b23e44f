"""Invitations on SQLite for the HTTP endpoints: one read, a customer's purchases, a cancellation."""

import datetime as dt
import sqlite3

import msgspec

from order_intake.adapters.sqlite import invitations as rows
from order_intake.adapters.sqlite.intake import immediate
from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.domain.invitations import State
from order_intake.service.invitation_queries import cancellation_rows
from order_intake.service.invitation_records import Cancellation, InvitationView, PurchaseRow
from order_intake.service.invitations import InvitationPlanning

_QUALIFIED = ", ".join(f"i.{column.strip()}" for column in rows.COLUMNS.split(","))
_ONE = f"""
SELECT {_QUALIFIED}, o.invitation_policy, i.reminder_at
  FROM invitations i JOIN organisations o ON o.id = i.organisation_id
 WHERE i.organisation_id = ? AND i.order_ref = ?
"""  # noqa: S608 - constant column list
_PURCHASES = f"""
SELECT {_QUALIFIED}, c.created_at, c.document,
       (SELECT json_group_array(r.sku) FROM reviews r WHERE r.invitation_id = i.id)
  FROM invitations i JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.organisation_id = ? AND i.email = ?
"""  # noqa: S608 - constant column list
_AUDIT = "INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)"
_COLUMN_COUNT = len(rows.COLUMNS.split(","))
_skus = msgspec.json.Decoder(tuple[str, ...])


def invitation(conn: sqlite3.Connection, organisation_id: int, order_ref: str) -> InvitationView | None:
    """The invitation of one order, and its organisation's policy settings."""
    found = conn.execute(_ONE, (organisation_id, order_ref)).fetchone()
    if found is None:
        return None
    policy, reminder = found[_COLUMN_COUNT], found[_COLUMN_COUNT + 1]
    return InvitationView(
        rows.row_of(found),
        msgspec.json.decode(policy) if policy else None,
        dt.datetime.fromisoformat(reminder) if reminder else None,
    )


def purchases(conn: sqlite3.Connection, organisation_id: int, email: str) -> list[PurchaseRow]:
    """Every invited order of this address in the organisation, with the items already reviewed."""
    n = _COLUMN_COUNT
    return [
        PurchaseRow(rows.row_of(r), dt.datetime.fromisoformat(r[n]), r[n + 1].encode(), _skus.decode(r[n + 2]))
        for r in conn.execute(_PURCHASES, (organisation_id, email))
    ]


def cancel_invitation(
    conn: sqlite3.Connection, planning: InvitationPlanning, cancellation: Cancellation
) -> InvitationView | State | None:
    """Cancel one order's invitation on the writer, in one transaction (see the PostgreSQL twin)."""
    with immediate(conn):
        view = invitation(conn, cancellation.organisation_id, cancellation.order_ref)
        if view is None or view.row.state in {State.SENT, State.CANCELLED}:
            return State.SENT if view is not None and view.row.state == State.SENT else view
        customer_rows = rows.rows_of_customers(conn, [(cancellation.organisation_id, view.row.customer_key)])
        _, found = rows.context(conn, planning, customer_rows)
        written, details = cancellation_rows(planning, view, customer_rows, found, cancellation)
        rows.save(conn, written)
        at = to_sqlite_time(cancellation.at)
        conn.execute(_AUDIT, (at, cancellation.actor, "invitation.cancel", cancellation.target, details))
    return InvitationView(written[0], view.policy)
