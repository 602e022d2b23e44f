"""PostgreSQL advisory locks: per order (processing, erasure, retention), per organisation and customer."""

import hashlib
from collections.abc import Iterable
from typing import Final

from order_intake.service.processing_records import OrderKey

# Taken in key order, so that two transactions locking overlapping orders never deadlock.
LOCK_ORDERS: Final = (
    "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS keys"
)


def lock_key(key: OrderKey) -> int:
    """A stable signed 64-bit advisory-lock key for one order (the same in every process)."""
    digest = hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _invitation_lock_key(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(map(str, ("invitations", *parts))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def organisation_lock_key(organisation_id: int) -> int:
    """An organisation's invitations: shared by whoever re-plans some customers, exclusive for a policy change."""
    return _invitation_lock_key("organisation", organisation_id)


def customer_lock_key(organisation_id: int, customer_key: str) -> int:
    """One customer's invitations in one organisation: whoever re-plans them holds it (after the organisation's)."""
    return _invitation_lock_key("customer", organisation_id, customer_key)


LOCK_SHARED: Final = (
    "SELECT pg_advisory_xact_lock_shared(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY k) AS keys"
)


def customers_locks(customers: Iterable[tuple[int, str]]) -> tuple[list[int], list[int]]:
    """The organisations' locks (to take shared) and the customers' (exclusive), in that order."""
    ordered = sorted(set(customers))
    return sorted({organisation_lock_key(o) for o, _ in ordered}), [customer_lock_key(o, c) for o, c in ordered]
