"""Re-planning invitations from the admin commands (policy, suppressions): SQLAlchemy Core, both backends.

Whatever changed (the organisation's policy, an address's suppression, later a cancellation), the
affected customers' invitations are read whole, planned again by service.invitations.replan and
the changed rows written back, in the caller's transaction, under the locks of invitation_locks.py.
"""

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, Final
from uuid import UUID

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.invitation_locks import lock_customers
from order_intake.adapters.sql.privacy import chunks
from order_intake.adapters.sql.schema import invitations, organisations, suppressions
from order_intake.adapters.sql.secrets import signing_key
from order_intake.domain.invitations import State
from order_intake.service.invitation_records import CustomerInvitations, InvitationRow
from order_intake.service.invitations import email_hash, group_by_customer, replan

__all__ = ["customers_with_address", "replan_customers", "stored_json", "stored_policy"]

# The states planning may still change; the others (sent, cancelled, failed) are final.
UNSENT: Final = (State.SCHEDULED.value, State.SKIPPED.value, State.SUPPRESSED.value)
FINAL: Final = (State.SENT.value, State.CANCELLED.value, State.FAILED.value)


def stored_json(conn: sa.Connection, value: object) -> object:
    """A JSON-text column's value as written: PostgreSQL's json takes the value, SQLite keeps the text."""
    if value is None or conn.dialect.name == "postgresql":
        return value
    return msgspec.json.encode(value).decode()


def _read_json(value: object) -> object:
    return msgspec.json.decode(value) if isinstance(value, str) else value


def stored_policy(conn: sa.Connection, organisation_id: int) -> dict[str, object] | None:
    """The organisation's stored policy settings (None: every default)."""
    query = sa.select(organisations.c.invitation_policy).where(organisations.c.id == organisation_id)
    stored = _read_json(conn.execute(query).scalar_one())
    return stored if isinstance(stored, dict) else None


def customers_with_address(conn: sa.Connection, organisation_id: int, email: str) -> set[str]:
    """The customers (customer_key) of the organisation whose invitations go to this address."""
    c = invitations.c
    query = sa.select(c.customer_key).where(c.organisation_id == organisation_id, c.email == email).distinct()
    return set(conn.execute(query).scalars())


def _customers_with_unsent(conn: sa.Connection, organisation_id: int) -> list[str]:
    c = invitations.c
    query = sa.select(c.customer_key).where(c.organisation_id == organisation_id, c.state.in_(UNSENT)).distinct()
    return sorted(conn.execute(query).scalars())


_COLUMNS: Final = [invitations.c[name] for name in InvitationRow.__struct_fields__]


def _row(values: Sequence[Any]) -> InvitationRow:
    fields = dict(zip(InvitationRow.__struct_fields__, values, strict=True))
    fields["id"] = UUID(str(fields["id"]))
    fields["canonical_id"] = UUID(str(fields["canonical_id"]))
    fields["sandbox"] = bool(fields["sandbox"])
    explanation = _read_json(fields["explanation"])
    fields["explanation"] = tuple(map(str, explanation)) if isinstance(explanation, list) else ()
    return InvitationRow(**fields)


def _rows(conn: sa.Connection, organisation_id: int, customer_keys: Sequence[str]) -> list[InvitationRow]:
    c = invitations.c
    query = sa.select(*_COLUMNS).where(c.organisation_id == organisation_id, c.customer_key.in_(customer_keys))
    return [_row(values) for values in conn.execute(query)]


def _suppressions(conn: sa.Connection, organisation_id: int, emails: set[str]) -> dict[str, str]:
    """The suppression reason of each of these addresses that has one."""
    if not emails:
        return {}
    secret = signing_key(conn)
    by_hash = {email_hash(secret, email): email for email in emails}
    s = suppressions.c
    query = sa.select(s.email_hash, s.reason).where(s.organisation_id == organisation_id)
    found: dict[str, str] = {}
    for part in chunks(list(by_hash)):
        for hashed, reason in conn.execute(query.where(s.email_hash.in_(part))):
            found[by_hash[bytes(hashed)]] = reason
    return found


def _write(conn: sa.Connection, rows: Sequence[InvitationRow]) -> int:
    """Store re-planned rows; one that became final meanwhile (sent by a worker) is left as it is."""
    if not rows:
        return 0
    c = invitations.c
    update = (
        invitations.update()
        # one comparison per state: an IN list's expanding parameter cannot run once per row (executemany)
        .where(c.id == sa.bindparam("row_id"), *(c.state != state for state in FINAL))
        .values(
            state=sa.bindparam("new_state"),
            reason=sa.bindparam("new_reason"),
            send_at=sa.bindparam("new_send_at"),
            explanation=sa.bindparam("new_explanation"),
            updated_at=sa.bindparam("new_updated_at"),
        )
    )
    as_text = conn.dialect.name != "postgresql"
    conn.execute(
        update,
        [
            {
                "row_id": str(row.id) if as_text else row.id,
                "new_state": row.state,
                "new_reason": row.reason,
                "new_send_at": row.send_at,
                "new_explanation": stored_json(conn, list(row.explanation)),
                "new_updated_at": row.updated_at,
            }
            for row in rows
        ],
    )
    return len(rows)


def replan_customers(
    conn: sa.Connection, organisation_id: int, customer_keys: Collection[str] | None, now: dt.datetime
) -> int:
    """Plan these customers' invitations again (None: every customer with an unsent one); how many rows changed."""
    lock_customers(conn, organisation_id, customer_keys)
    keys = _customers_with_unsent(conn, organisation_id) if customer_keys is None else sorted(customer_keys)
    policy = stored_policy(conn, organisation_id)
    changed = 0
    for part in chunks(keys):
        rows = _rows(conn, organisation_id, part)
        suppressed = _suppressions(conn, organisation_id, {row.email for row in rows})
        for (_, customer), theirs in group_by_customer(rows).items():
            addresses = {row.email: suppressed[row.email] for row in theirs if row.email in suppressed}
            customer_rows = CustomerInvitations(organisation_id, customer, tuple(theirs), policy, addresses)
            changed += _write(conn, replan(customer_rows, now))
    return changed
