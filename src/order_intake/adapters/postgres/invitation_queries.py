"""Invitations on PostgreSQL for the HTTP endpoints: one read, a customer's purchases, a cancellation."""

from typing import TYPE_CHECKING

import msgspec

from order_intake.adapters.postgres import invitations as rows
from order_intake.adapters.postgres.locks import LOCK_ORDERS, LOCK_SHARED, customers_locks
from order_intake.domain.invitations import State
from order_intake.service.invitation_queries import cancellation_rows
from order_intake.service.invitation_records import Cancellation, InvitationView, PurchaseRow
from order_intake.service.invitations import InvitationPlanning

if TYPE_CHECKING:
    from order_intake.adapters.postgres.invitations import Connection

_ONE = f"""
SELECT {rows.COLUMNS}, o.invitation_policy::text AS policy, i.reminder_at
  FROM invitations i JOIN organisations o ON o.id = i.organisation_id
 WHERE i.organisation_id = $1 AND i.order_ref = $2
"""  # noqa: S608 - constant column list
_PURCHASES = f"""
SELECT {rows.COLUMNS}, c.created_at AS ordered_at, c.document::text AS document,
       coalesce((SELECT array_agg(r.sku) FROM reviews r WHERE r.invitation_id = i.id), '{{}}') AS reviewed
  FROM invitations i JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.organisation_id = $1 AND i.email = $2
"""  # noqa: S608 - constant column list
_AUDIT = "INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5::jsonb)"


def _policy(text: str | None) -> dict[str, object] | None:
    return msgspec.json.decode(text) if text else None


async def invitation(conn: "Connection", organisation_id: int, order_ref: str) -> InvitationView | None:
    """The invitation of one order, and its organisation's policy settings."""
    found = await conn.fetchrow(_ONE, organisation_id, order_ref)
    if found is None:
        return None
    return InvitationView(rows.row_of(found), _policy(found["policy"]), found["reminder_at"])


async def purchases(conn: "Connection", organisation_id: int, email: str) -> list[PurchaseRow]:
    """Every invited order of this address in the organisation, with the items already reviewed."""
    return [
        PurchaseRow(rows.row_of(r), r["ordered_at"], r["document"].encode(), tuple(r["reviewed"]))
        for r in await conn.fetch(_PURCHASES, organisation_id, email)
    ]


async def cancel_invitation(
    conn: "Connection", planning: InvitationPlanning, cancellation: Cancellation
) -> InvitationView | State | None:
    """Cancel one order's invitation (in the caller's transaction): the new view, SENT if too late, None if none.

    The customer's lock is taken before anything is read, as processing does; the cancellation and the
    other invitations it frees are written with one audit row (`audit`: actor and target).
    """
    view = await invitation(conn, cancellation.organisation_id, cancellation.order_ref)
    if view is None:
        return None
    organisations, each = customers_locks([(cancellation.organisation_id, view.row.customer_key)])
    await conn.execute(LOCK_SHARED, organisations)
    await conn.execute(LOCK_ORDERS, each)
    view = await invitation(
        conn, cancellation.organisation_id, cancellation.order_ref
    )  # as it is now that nobody else can change it
    if view is None or view.row.state in {State.SENT, State.CANCELLED}:
        return State.SENT if view is not None and view.row.state == State.SENT else view
    customer_rows = await rows.rows_of_customers(conn, [(cancellation.organisation_id, view.row.customer_key)])
    _, found = await rows.context(conn, planning, customer_rows)
    written, details = cancellation_rows(planning, view, customer_rows, found, cancellation)
    await rows.save(conn, written)
    await conn.execute(_AUDIT, cancellation.at, cancellation.actor, "invitation.cancel", cancellation.target, details)
    return InvitationView(written[0], view.policy)


__all__ = ["cancel_invitation", "invitation", "purchases"]
