"""Per-order advisory locks: processing holds them while it merges; erasure and retention while they change orders."""

import hashlib

from order_intake.service.processing_records import OrderKey

# Taken in key order, so that two transactions locking overlapping orders never deadlock.
LOCK_ORDERS = "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS keys"


def lock_key(key: OrderKey) -> int:
    """A stable signed 64-bit advisory-lock key for one order (the same in every process)."""
    digest = hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def customer_lock_key(organisation_id: int, customer_key: str) -> int:
    """A customer's lock within an organisation: whoever re-plans their invitations holds it.

    Order keys and customer keys hash alike into one space; a collision only makes two unrelated
    transactions wait for each other.
    """
    return lock_key((organisation_id, f"customer:{customer_key}"))
