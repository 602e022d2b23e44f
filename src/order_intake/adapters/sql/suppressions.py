"""An organisation's suppressions: add, lift and list them; each change re-plans that address's customers."""

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from order_intake.adapters.sql.admin import find_organisation
from order_intake.adapters.sql.invitations import customers_with_address, replan_customers
from order_intake.adapters.sql.schema import invitations, suppressions
from order_intake.adapters.sql.secrets import signing_key
from order_intake.domain.suppressions import RETAILER_REASON, ListPosition, lifted_by_retailer
from order_intake.errors import SuppressedByCustomer
from order_intake.service.invitation_records import SuppressionPage, SuppressionRow
from order_intake.service.invitations import email_hash

__all__ = [
    "ADD",
    "REMOVE",
    "SuppressionChange",
    "add_suppression",
    "audit_details",
    "customer_suppression",
    "find_suppression",
    "list_suppressions",
    "remove_suppression",
    "suppressions_page",
]

# The audit log's actions, whoever asks for the change (an operator's command, a retailer's request).
ADD: Final = "suppress.add"
REMOVE: Final = "suppress.remove"


@dataclass(frozen=True, slots=True)
class SuppressionChange:
    """What `suppress add` or `remove` did: the suppression there now (add) or gone (remove), if any."""

    suppression: SuppressionRow | None
    changed: bool  # False: it was there already (add), or there was none (remove)
    email_hash: bytes  # the keyed hash the suppression is kept under
    invitations_replanned: int


def audit_details(change: SuppressionChange) -> dict[str, object]:
    """A change's audit details: never the address, but the first bytes of its keyed hash (decisions.md)."""
    return {
        "email_hash": change.email_hash[:6].hex(),
        "changed": change.changed,
        "invitations_replanned": change.invitations_replanned,
    }


def _find(conn: sa.Connection, organisation_id: int, hashed: bytes) -> SuppressionRow | None:
    s = suppressions.c
    query = sa.select(s.email, s.reason, s.created_at).where(
        s.organisation_id == organisation_id, s.email_hash == hashed
    )
    row = conn.execute(query).first()
    return None if row is None else SuppressionRow(*row)


def find_suppression(conn: sa.Connection, trkref: str, email: str) -> SuppressionRow | None:
    """The suppression of an address (as the validator stores it), whatever its reason."""
    organisation = find_organisation(conn, trkref)
    return _find(conn, organisation.id, email_hash(signing_key(conn), email))


def _insert_if_absent(conn: sa.Connection, values: dict[str, object]) -> None:
    """Insert unless the address is suppressed already (say, an unsubscribe committed a moment ago)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # noqa: PLC0415 - PostgreSQL's dialect only here

        conn.execute(insert(suppressions).values(values).on_conflict_do_nothing())
    else:
        conn.execute(sa.insert(suppressions).values(values).prefix_with("OR IGNORE"))


def add_suppression(conn: sa.Connection, trkref: str, email: str, now: dt.datetime) -> SuppressionChange:
    """Suppress an address (as the validator stores it) for the retailer; one already suppressed keeps its reason."""
    organisation = find_organisation(conn, trkref)
    hashed = email_hash(signing_key(conn), email)
    existing = _find(conn, organisation.id, hashed)
    if existing is not None:
        return SuppressionChange(existing, changed=False, email_hash=hashed, invitations_replanned=0)
    values = {
        "organisation_id": organisation.id,
        "email_hash": hashed,
        "email": email,
        "reason": RETAILER_REASON.value,
        "created_at": now,
    }
    _insert_if_absent(conn, values)
    replanned = replan_customers(conn, organisation.id, customers_with_address(conn, organisation.id, email), now)
    now_there = _find(conn, organisation.id, hashed)
    return SuppressionChange(now_there, changed=True, email_hash=hashed, invitations_replanned=replanned)


def customer_suppression(conn: sa.Connection, organisation_id: int, email: str, reason: str, now: dt.datetime) -> bool:
    """The customer's own suppression (`unsubscribed`, `bounced`) of an address as stored; True if it is new.

    A retailer's suppression of the address becomes the customer's (the retailer can no longer lift it);
    an earlier unsubscribe or bounce stays as it is. The address's customers are re-planned, and the
    reminders of its invitations already sent are called off.
    """
    hashed = email_hash(signing_key(conn), email)
    existing = _find(conn, organisation_id, hashed)
    if existing is not None and not lifted_by_retailer(existing.reason):
        return False
    s = suppressions.c
    if existing is not None:
        mine = (s.organisation_id == organisation_id) & (s.email_hash == hashed)
        conn.execute(suppressions.update().where(mine).values(reason=reason))
    else:
        values = {"organisation_id": organisation_id, "email_hash": hashed, "email": email, "reason": reason}
        _insert_if_absent(conn, {**values, "created_at": now})
    i = invitations.c
    pending = (i.organisation_id == organisation_id) & (i.email == email) & i.reminder_sent_at.is_(None)
    conn.execute(invitations.update().where(pending & i.reminder_at.is_not(None)).values(reminder_at=None))
    replan_customers(conn, organisation_id, customers_with_address(conn, organisation_id, email), now)
    return existing is None


def remove_suppression(conn: sa.Connection, trkref: str, email: str, now: dt.datetime) -> SuppressionChange:
    """Lift the retailer's suppression of an address; the customer's own (unsubscribed, bounced) is refused."""
    organisation = find_organisation(conn, trkref)
    hashed = email_hash(signing_key(conn), email)
    existing = _find(conn, organisation.id, hashed)
    if existing is None:
        return SuppressionChange(None, changed=False, email_hash=hashed, invitations_replanned=0)
    if not lifted_by_retailer(existing.reason):
        msg = f"suppressed by the customer ({existing.reason}): only a retailer's suppression can be removed"
        raise SuppressedByCustomer(msg)
    s = suppressions.c
    conn.execute(suppressions.delete().where(s.organisation_id == organisation.id, s.email_hash == hashed))
    replanned = replan_customers(conn, organisation.id, customers_with_address(conn, organisation.id, email), now)
    return SuppressionChange(existing, changed=True, email_hash=hashed, invitations_replanned=replanned)


_COLUMNS: Final = (suppressions.c.email, suppressions.c.reason, suppressions.c.created_at)
# The list's order: oldest first, ties by keyed hash (unique within an organisation), so pages are stable.
_ORDER: Final = (suppressions.c.created_at, suppressions.c.email_hash)


def list_suppressions(conn: sa.Connection, trkref: str) -> list[SuppressionRow]:
    """The organisation's suppressions, oldest first, erased addresses too."""
    organisation = find_organisation(conn, trkref)
    query = sa.select(*_COLUMNS).where(suppressions.c.organisation_id == organisation.id).order_by(*_ORDER)
    return [SuppressionRow(*row) for row in conn.execute(query)]


def suppressions_page(conn: sa.Connection, trkref: str, *, after: ListPosition | None, limit: int) -> SuppressionPage:
    """Up to `limit` of the suppressions that still name their address, in list order, from after `after`."""
    organisation = find_organisation(conn, trkref)
    s = suppressions.c
    query = sa.select(*_COLUMNS, s.email_hash).where(s.organisation_id == organisation.id, s.email.is_not(None))
    if after is not None:
        query = query.where(
            sa.or_(
                s.created_at > after.created_at,
                sa.and_(s.created_at == after.created_at, s.email_hash > after.email_hash),
            )
        )
    rows = conn.execute(query.order_by(*_ORDER).limit(limit + 1)).all()
    page = rows[:limit]
    more_after = ListPosition(page[-1].created_at, bytes(page[-1].email_hash)) if len(rows) > limit else None
    return SuppressionPage(tuple(SuppressionRow(row.email, row.reason, row.created_at) for row in page), more_after)
