"""Reviews on PostgreSQL for the customer's pages: the invitation a link names, and its reviews stored."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from order_intake.domain.reviews import REVIEWABLE, Review
from order_intake.service.review_records import ReviewSubject

if TYPE_CHECKING:
    from order_intake.adapters.postgres.invitations import Connection

_SUBJECT = """
SELECT i.id, i.state, i.organisation_id, o.name, i.email, i.order_ref, i.canonical_id, c.document::text AS document
  FROM invitations i
  JOIN organisations o ON o.id = i.organisation_id
  JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.id = $1
"""
_REVIEWS = "SELECT sku, rating, text FROM reviews WHERE invitation_id = $1 ORDER BY created_at, sku"
# The order is held (key share) while its reviews are written. An erasure or purge deletes the order before
# the invitation's reviews and the invitation: it waits for these reviews to commit and deletes them too, or
# it deleted the order first and this finds nothing. Only the order is locked here, before the invitation
# (updated last), in the order the erasure and processing take them, so that neither deadlocks with this.
_LOCK = """
SELECT i.state FROM invitations i JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.id = $1
   FOR KEY SHARE OF c
"""
_UPSERT = """
INSERT INTO reviews (id, invitation_id, sku, rating, text, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)
ON CONFLICT (invitation_id, sku) DO UPDATE SET rating = excluded.rating, text = excluded.text,
                                               updated_at = excluded.updated_at
"""
_NO_REMINDER = "UPDATE invitations SET reminder_at = NULL WHERE id = $1 AND reminder_sent_at IS NULL"


async def review_subject(conn: "Connection", invitation_id: uuid.UUID) -> ReviewSubject | None:
    """The invitation, its organisation's name, its canonical order and the reviews left through it."""
    found = await conn.fetchrow(_SUBJECT, invitation_id)
    if found is None:
        return None
    reviews = await conn.fetch(_REVIEWS, invitation_id)
    return ReviewSubject(
        invitation_id=found["id"],
        state=found["state"],
        organisation_id=found["organisation_id"],
        organisation_name=found["name"],
        email=found["email"],
        order_ref=found["order_ref"],
        canonical_id=found["canonical_id"],
        document=found["document"].encode(),
        reviews=tuple(Review(r["sku"], r["rating"], r["text"]) for r in reviews),
    )


async def save_reviews(conn: "Connection", invitation_id: uuid.UUID, reviews: Sequence[Review], at: datetime) -> bool:
    """Upsert the reviews and call off the unsent reminder (in the caller's transaction); False if not reviewable."""
    state = await conn.fetchval(_LOCK, invitation_id)
    if state not in REVIEWABLE:
        return False
    await conn.executemany(_UPSERT, [(uuid.uuid4(), invitation_id, r.sku, r.rating, r.text, at) for r in reviews])
    await conn.execute(_NO_REMINDER, invitation_id)
    return True


__all__ = ["review_subject", "save_reviews"]
