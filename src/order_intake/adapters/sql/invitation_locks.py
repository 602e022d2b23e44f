"""The locks whoever re-plans invitations takes (PostgreSQL; SQLite has one writer at a time).

Re-planning some customers takes the organisation's invitation lock shared, then each customer's
exclusively, in key order; re-planning the whole organisation (a policy change) takes the
organisation's lock exclusively. So a policy change and any customer's re-planning never
interleave, and two re-plannings of one customer never read the same rows before either writes.
Every writer of invitation plans (the admin commands, processing) takes them before reading rows:
with asyncpg, `LOCK_SHARED` with organisation_lock_key and `LOCK_EACH` with customer_lock_key's.
"""

import hashlib
from collections.abc import Collection
from typing import Final

import sqlalchemy as sa

__all__ = ["LOCK_EACH", "LOCK_SHARED", "customer_lock_key", "lock_customers", "organisation_lock_key"]

LOCK_SHARED: Final = "SELECT pg_advisory_xact_lock_shared($1)"
# Taken in key order, so that two transactions locking overlapping customers never deadlock.
LOCK_EACH: Final = "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS keys"


def _lock_key(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(map(str, ("invitations", *parts))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def organisation_lock_key(organisation_id: int) -> int:
    """The advisory-lock key of an organisation's invitations (the same in every process)."""
    return _lock_key("organisation", organisation_id)


def customer_lock_key(organisation_id: int, customer_key: str) -> int:
    """The advisory-lock key of one customer's invitations in one organisation."""
    return _lock_key("customer", organisation_id, customer_key)


def lock_customers(conn: sa.Connection, organisation_id: int, customer_keys: Collection[str] | None) -> None:
    """Lock these customers' invitations for re-planning (None: the organisation's, all of them)."""
    if conn.dialect.name != "postgresql":
        return
    organisation = organisation_lock_key(organisation_id)
    if customer_keys is None:
        conn.exec_driver_sql(LOCK_EACH, ([organisation],))
        return
    conn.exec_driver_sql(LOCK_SHARED, (organisation,))
    conn.exec_driver_sql(LOCK_EACH, ([customer_lock_key(organisation_id, key) for key in customer_keys],))
