"""An organisation's suppressions: add, lift and list them; each change re-plans that address's customers."""

import datetime as dt
from dataclasses import dataclass

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.admin import find_organisation
from order_intake.adapters.sql.invitations import customers_with_address, replan_customers
from order_intake.adapters.sql.schema import suppressions
from order_intake.adapters.sql.secrets import signing_key
from order_intake.domain.suppressions import RETAILER_REASON, lifted_by_retailer
from order_intake.errors import AdminError
from order_intake.service.invitations import email_hash

__all__ = ["Suppression", "SuppressionChange", "add_suppression", "list_suppressions", "remove_suppression"]


class Suppression(msgspec.Struct, frozen=True):
    """One suppression as `suppress list` shows it; `email` is None once the address was erased."""

    email: str | None
    reason: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SuppressionChange:
    """What `suppress add` or `remove` did: the suppression there now (add) or gone (remove), if any."""

    suppression: Suppression | None
    changed: bool  # False: it was there already (add), or there was none (remove)
    email_hash: bytes  # the keyed hash the suppression is kept under
    invitations_replanned: int


def _find(conn: sa.Connection, organisation_id: int, hashed: bytes) -> Suppression | None:
    s = suppressions.c
    query = sa.select(s.email, s.reason, s.created_at).where(
        s.organisation_id == organisation_id, s.email_hash == hashed
    )
    row = conn.execute(query).first()
    return None if row is None else Suppression(*row)


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


def remove_suppression(conn: sa.Connection, trkref: str, email: str, now: dt.datetime) -> SuppressionChange:
    """Lift the retailer's suppression of an address; the customer's own (unsubscribed) or a bounce: AdminError."""
    organisation = find_organisation(conn, trkref)
    hashed = email_hash(signing_key(conn), email)
    existing = _find(conn, organisation.id, hashed)
    if existing is None:
        return SuppressionChange(None, changed=False, email_hash=hashed, invitations_replanned=0)
    if not lifted_by_retailer(existing.reason):
        msg = f"suppressed by the customer ({existing.reason}): only a retailer's suppression can be removed"
        raise AdminError(msg)
    s = suppressions.c
    conn.execute(suppressions.delete().where(s.organisation_id == organisation.id, s.email_hash == hashed))
    replanned = replan_customers(conn, organisation.id, customers_with_address(conn, organisation.id, email), now)
    return SuppressionChange(existing, changed=True, email_hash=hashed, invitations_replanned=replanned)


def list_suppressions(conn: sa.Connection, trkref: str) -> list[Suppression]:
    """The organisation's suppressions, oldest first."""
    organisation = find_organisation(conn, trkref)
    s = suppressions.c
    query = (
        sa.select(s.email, s.reason, s.created_at)
        .where(s.organisation_id == organisation.id)
        .order_by(s.created_at, s.email_hash)
    )
    return [Suppression(*row) for row in conn.execute(query)]
