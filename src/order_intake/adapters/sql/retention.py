"""Purge past retention, one bounded chunk per transaction: submissions, then what only they kept alive."""

import datetime as dt

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.privacy import CHUNK, forget_processing, invitations_of, lock_orders
from order_intake.adapters.sql.schema import (
    batch_organisations,
    batches,
    canonical_orders,
    idempotency_keys,
    invitations,
    outbox,
    reviews,
    submissions,
)

__all__ = ["Purged", "purge_chunk"]


class Purged(msgspec.Struct, frozen=True):
    """Rows deleted (by one chunk, or by a whole purge)."""

    submissions: int = 0
    batches: int = 0
    idempotency_records: int = 0
    canonical_orders: int = 0
    outbox_events: int = 0
    invitations: int = 0

    def __add__(self, other: "Purged") -> "Purged":
        pairs = zip(msgspec.structs.astuple(self), msgspec.structs.astuple(other), strict=True)
        return Purged(*(a + b for a, b in pairs))

    def __bool__(self) -> bool:
        return any(msgspec.structs.astuple(self))


def _submissions(conn: sa.Connection, cutoff: dt.datetime, limit: int) -> int:
    s = submissions.c
    old = sa.select(s.id).where(s.received_at < cutoff).limit(limit)
    ids = list(conn.execute(submissions.delete().where(s.id.in_(old)).returning(s.id)).scalars())
    forget_processing(conn, ids)
    return len(ids)


def _batches(conn: sa.Connection, cutoff: dt.datetime, limit: int) -> int:
    """Batches as old as the cutoff none of whose submissions is left (all were purged, or none accepted)."""
    left = sa.select(submissions.c.id).where(submissions.c.batch_id == batches.c.id).exists()
    ids = list(
        conn.execute(sa.select(batches.c.id).where(batches.c.received_at < cutoff, ~left).limit(limit)).scalars()
    )
    if ids:
        conn.execute(batch_organisations.delete().where(batch_organisations.c.batch_id.in_(ids)))
        conn.execute(batches.delete().where(batches.c.id.in_(ids)))
    return len(ids)


def _idempotency(conn: sa.Connection, before: dt.datetime, limit: int) -> int:
    k = idempotency_keys.c
    old = sa.select(k.api_key_id, k.key).where(k.created_at < before).limit(limit)
    return conn.execute(idempotency_keys.delete().where(sa.tuple_(k.api_key_id, k.key).in_(old))).rowcount


def _canonical_orders(conn: sa.Connection, cutoff: dt.datetime, limit: int) -> tuple[int, int, int]:
    """Orders last changed before the cutoff, no submission left, no recent event unsent; their events, invitations.

    An unsent event made before the cutoff keeps nothing: without BROKER_URL nothing ever relays events,
    and a broker away that long is an outage to mend, not a reason to keep personal data past retention.
    """
    c = canonical_orders.c
    left = (
        sa.select(submissions.c.id)
        .where(submissions.c.organisation_id == c.organisation_id, submissions.c.order_ref == c.order_ref)
        .exists()
    )
    unsent = (
        sa.select(outbox.c.id)
        .where(outbox.c.canonical_id == c.id, outbox.c.sent_at.is_(None), outbox.c.created_at >= cutoff)
        .exists()
    )
    gone = (c.updated_at < cutoff) & ~left & ~unsent
    found = conn.execute(sa.select(c.id, c.organisation_id, c.order_ref).where(gone).limit(limit)).all()
    if not found:
        return 0, 0, 0
    lock_orders(conn, [(row[1], row[2]) for row in found])
    deleted = conn.execute(
        canonical_orders.delete()
        .where(c.id.in_([row[0] for row in found]), gone)
        .returning(c.id, c.organisation_id, c.order_ref)
    ).all()
    if not deleted:
        return 0, 0, 0
    events = conn.execute(outbox.delete().where(outbox.c.canonical_id.in_([row[0] for row in deleted]))).rowcount
    of_deleted = invitations_of(deleted)
    conn.execute(reviews.delete().where(reviews.c.invitation_id.in_(sa.select(invitations.c.id).where(of_deleted))))
    removed = conn.execute(invitations.delete().where(of_deleted)).rowcount
    return len(deleted), events, removed


def _old_events(conn: sa.Connection, cutoff: dt.datetime, limit: int) -> int:
    """Events of orders still kept, made before the cutoff (older versions of the order), sent or not."""
    e = outbox.c
    old = sa.select(e.id).where(e.created_at < cutoff).limit(limit)
    return conn.execute(outbox.delete().where(e.id.in_(old))).rowcount


def purge_chunk(
    conn: sa.Connection, *, cutoff: dt.datetime, idempotency_before: dt.datetime, limit: int = CHUNK
) -> Purged:
    """Delete at most `limit` rows of each kind; an empty result means nothing is left to purge."""
    purged_submissions = _submissions(conn, cutoff, limit)
    orders, events, invited = _canonical_orders(conn, cutoff, limit)
    return Purged(
        submissions=purged_submissions,
        batches=_batches(conn, cutoff, limit),
        idempotency_records=_idempotency(conn, idempotency_before, limit),
        canonical_orders=orders,
        outbox_events=events + _old_events(conn, cutoff, limit),
        invitations=invited,
    )
