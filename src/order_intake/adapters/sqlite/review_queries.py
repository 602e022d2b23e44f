"""Reviews on SQLite for the customer's pages: the invitation a link names, and its reviews stored."""

import datetime as dt
import sqlite3
import uuid
from collections.abc import Sequence

from order_intake.adapters.sqlite.intake import immediate
from order_intake.adapters.sqlite.timestamps import to_sqlite_time
from order_intake.domain.reviews import REVIEWABLE, Review
from order_intake.service.review_records import ReviewSubject

_SUBJECT = """
SELECT i.id, i.state, i.organisation_id, o.name, i.email, i.order_ref, i.canonical_id, c.document
  FROM invitations i
  JOIN organisations o ON o.id = i.organisation_id
  JOIN canonical_orders c ON c.id = i.canonical_id
 WHERE i.id = ?
"""
_REVIEWS = "SELECT sku, rating, text FROM reviews WHERE invitation_id = ? ORDER BY created_at, sku"
# The order too: an invitation whose order was erased or purged takes no review.
_STATE = "SELECT i.state FROM invitations i JOIN canonical_orders c ON c.id = i.canonical_id WHERE i.id = ?"
_UPSERT = """
INSERT INTO reviews (id, invitation_id, sku, rating, text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (invitation_id, sku) DO UPDATE SET rating = excluded.rating, text = excluded.text,
                                               updated_at = excluded.updated_at
"""
_NO_REMINDER = "UPDATE invitations SET reminder_at = NULL WHERE id = ? AND reminder_sent_at IS NULL"


def review_subject(conn: sqlite3.Connection, invitation_id: uuid.UUID) -> ReviewSubject | None:
    """The invitation, its organisation's name, its canonical order and the reviews left through it."""
    found = conn.execute(_SUBJECT, (str(invitation_id),)).fetchone()
    if found is None:
        return None
    reviews = conn.execute(_REVIEWS, (str(invitation_id),)).fetchall()
    return ReviewSubject(
        invitation_id=uuid.UUID(found[0]),
        state=found[1],
        organisation_id=found[2],
        organisation_name=found[3],
        email=found[4],
        order_ref=found[5],
        canonical_id=uuid.UUID(found[6]),
        document=found[7].encode(),
        reviews=tuple(Review(sku, rating, text) for sku, rating, text in reviews),
    )


def save_reviews(
    conn: sqlite3.Connection, invitation_id: uuid.UUID, reviews: Sequence[Review], at: dt.datetime
) -> bool:
    """Upsert the reviews and call off the unsent reminder, in one transaction (the writer's); False if not open."""
    key, when = str(invitation_id), to_sqlite_time(at)
    with immediate(conn):
        found = conn.execute(_STATE, (key,)).fetchone()
        if found is None or found[0] not in REVIEWABLE:
            return False
        conn.executemany(_UPSERT, [(str(uuid.uuid4()), key, r.sku, r.rating, r.text, when, when) for r in reviews])
        conn.execute(_NO_REMINDER, (key,))
    return True


__all__ = ["review_subject", "save_reviews"]
