"""The locks whoever re-plans invitations takes (PostgreSQL; SQLite has one writer at a time).

Re-planning some customers takes the organisation's invitation lock shared, then each customer's
exclusively, in key order; re-planning the whole organisation (a policy change) takes the
organisation's lock exclusively. So a policy change and any customer's re-planning never
interleave, and two re-plannings of one customer never read the same rows before either writes.
Every writer of invitation plans (the admin commands, processing, a cancellation) takes them before
reading rows; the keys and statements are adapters/postgres/locks.py's.
"""

from collections.abc import Collection

import sqlalchemy as sa

from order_intake.adapters.postgres.locks import LOCK_ORDERS, LOCK_SHARED, customer_lock_key, organisation_lock_key

__all__ = ["lock_customers"]


def lock_customers(conn: sa.Connection, organisation_id: int, customer_keys: Collection[str] | None) -> None:
    """Lock these customers' invitations for re-planning (None: the organisation's, all of them)."""
    if conn.dialect.name != "postgresql":
        return
    organisation = organisation_lock_key(organisation_id)
    if customer_keys is None:
        conn.exec_driver_sql(LOCK_ORDERS, ([organisation],))
        return
    conn.exec_driver_sql(LOCK_SHARED, ([organisation],))
    conn.exec_driver_sql(LOCK_ORDERS, ([customer_lock_key(organisation_id, key) for key in customer_keys],))
