"""Erase one customer of one organisation: submissions, canonical orders, events, invitations, reviews.

Everything runs in the caller's transaction. Rows are found in SQL by a LIKE pattern that both
backends lower-case alike, then kept only when `same_email` agrees (see domain/erasure.py).
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.erasure_answers import scrub_answers
from order_intake.adapters.sql.privacy import (
    chunks,
    forget_processing,
    invitations_of,
    json_of_bytes,
    json_text,
    lock_orders,
    of_orders,
)
from order_intake.adapters.sql.schema import (
    canonical_orders,
    invitations,
    organisations,
    outbox,
    reviews,
    submission_outcomes,
    submission_queue,
    submissions,
    suppressions,
)
from order_intake.domain.erasure import email_key, email_like_pattern, same_email
from order_intake.errors import AdminError

__all__ = ["Erased", "erase_customer"]


class Erased(msgspec.Struct, frozen=True):
    """What an erasure removed or changed (the audit row's details: counts only)."""

    submissions: int
    canonical_orders: int
    outbox_events: int
    answers_scrubbed: int
    idempotency_records_removed: int
    submissions_requeued: int
    invitations: int
    reviews: int
    suppressions_kept_as_hash: int


class _Gone(msgspec.Struct, frozen=True):
    """A deleted submission: what links it to other rows."""

    id: UUID | str
    batch_id: UUID | str | None
    api_key_id: int
    received_at: dt.datetime
    idempotency_key: str | None


def _matching(
    conn: sa.Connection,
    id_column: sa.ColumnElement[Any],
    email: sa.ColumnElement[str],
    where: sa.ColumnElement[bool],
    key: str,
) -> list[Any]:
    rows = conn.execute(
        sa.select(id_column, email).where(where, sa.func.lower(email).like(email_like_pattern(key), escape="\\"))
    )
    return [row[0] for row in rows if same_email(row[1], key)]


def _delete_submissions(conn: sa.Connection, organisation_id: int, key: str) -> list[_Gone]:
    email = json_text(conn, submissions.c.normalised, "customer", "email")
    ids = _matching(conn, submissions.c.id, email, submissions.c.organisation_id == organisation_id, key)
    returned = [submissions.c[name] for name in _Gone.__struct_fields__]
    return [
        _Gone(*row)
        for part in chunks(ids)
        for row in conn.execute(submissions.delete().where(submissions.c.id.in_(part)).returning(*returned))
    ]


def _delete_canonical_orders(
    conn: sa.Connection, organisation_id: int, key: str, merged: Sequence[Any]
) -> list[sa.Row[Any, Any, Any]]:
    """Orders showing the email, and orders that merged an erased submission (they may hold its fields).

    The deleted orders' id, organisation_id and order_ref.
    """
    c = canonical_orders.c
    email = json_text(conn, c.document, "customer", "email")
    ids = set(_matching(conn, c.id, email, c.organisation_id == organisation_id, key))
    ids.update(merged)
    found = [
        row
        for part in chunks(list(ids))
        for row in conn.execute(sa.select(c.id, c.organisation_id, c.order_ref).where(c.id.in_(part)))
    ]
    lock_orders(conn, [(row[1], row[2]) for row in found])
    return [
        row
        for part in chunks([row[0] for row in found])
        for row in conn.execute(
            canonical_orders.delete().where(c.id.in_(part)).returning(c.id, c.organisation_id, c.order_ref)
        )
    ]


def _delete_events(conn: sa.Connection, organisation_id: int, key: str, canonical_ids: Sequence[Any]) -> int:
    """Every event of a deleted order, and any other event whose order showed the email (an older version)."""
    c = outbox.c
    email = json_text(conn, json_of_bytes(conn, c.payload), "customer_order", "customer", "email")
    ids = set(_matching(conn, c.id, email, c.organisation_id == organisation_id, key))
    for part in chunks(canonical_ids):
        ids.update(conn.execute(sa.select(c.id).where(c.canonical_id.in_(part))).scalars())
    for part in chunks(list(ids)):
        conn.execute(outbox.delete().where(c.id.in_(part)))
    return len(ids)


def _delete_invitations(
    conn: sa.Connection, organisation_id: int, key: str, orders: Sequence[sa.Row[Any, Any, Any]]
) -> tuple[int, int]:
    """The customer's invitations (by address, and those of deleted orders) and every review left through them."""
    c = invitations.c
    ids = set(_matching(conn, c.id, c.email, c.organisation_id == organisation_id, key))
    for part in chunks(orders):
        ids.update(conn.execute(sa.select(c.id).where(invitations_of(part))).scalars())
    removed_reviews = 0
    for part in chunks(list(ids)):
        removed_reviews += conn.execute(reviews.delete().where(reviews.c.invitation_id.in_(part))).rowcount
        conn.execute(invitations.delete().where(c.id.in_(part)))
    return len(ids), removed_reviews


def _forget_suppressed_address(conn: sa.Connection, organisation_id: int, key: str) -> int:
    """A suppression keeps only its keyed hash: the customer is never invited again, and the address is gone."""
    c = suppressions.c
    hashes = _matching(conn, c.email_hash, c.email, c.organisation_id == organisation_id, key)
    for part in chunks(hashes):
        conn.execute(
            suppressions.update().where(c.organisation_id == organisation_id, c.email_hash.in_(part)).values(email=None)
        )
    return len(hashes)


def _requeue(conn: sa.Connection, orders: Sequence[Any]) -> int:
    """Other customers' submissions of a deleted order go back in the queue: the processor rebuilds it from them.

    `orders` are the deleted orders' (id, organisation_id, order_ref); their submissions are found through
    the orders' index (`of_orders`), since outcomes have none on canonical_id.
    """
    o, s = submission_outcomes.c, submissions.c
    requeued = 0
    for part in chunks(orders):
        merged = o.submission_id.in_(sa.select(s.id).where(of_orders(s, part)))
        deleted = submission_outcomes.delete().where(merged, o.canonical_id.in_([row[0] for row in part]))
        ids = list(conn.execute(deleted.returning(o.submission_id)).scalars())
        for some in chunks(ids):
            waiting = sa.select(s.id).where(s.id.in_(some)).order_by(s.received_at)
            conn.execute(submission_queue.insert().from_select(["submission_id"], waiting))
        requeued += len(ids)
    return requeued


def _organisation_id(conn: sa.Connection, trkref: str) -> int:
    found = conn.execute(sa.select(organisations.c.id).where(organisations.c.trkref == trkref)).scalar()
    if found is None:
        msg = f"unknown trkref {trkref!r}"
        raise AdminError(msg)
    return int(found)


def erase_customer(conn: sa.Connection, *, trkref: str, email: str) -> Erased:
    """Delete everything stored of the customer with this email at this organisation (one transaction).

    Submissions go first: on PostgreSQL that waits for a processor merging one of them to commit,
    so the canonical order it wrote is seen and deleted next.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")  # zero the deleted rows' bytes in the file's pages
    organisation_id = _organisation_id(conn, trkref)
    wanted = email_key(email)
    gone = _delete_submissions(conn, organisation_id, wanted)
    merged = list(set(forget_processing(conn, [g.id for g in gone])))
    orders = _delete_canonical_orders(conn, organisation_id, wanted, merged)
    order_ids = [row[0] for row in orders]
    events = _delete_events(conn, organisation_id, wanted, order_ids)
    invited, reviewed = _delete_invitations(conn, organisation_id, wanted, orders)
    kept_as_hash = _forget_suppressed_address(conn, organisation_id, wanted)
    requeued = _requeue(conn, orders)
    requests = [(g.api_key_id, g.received_at, g.batch_id) for g in gone if g.batch_id or g.idempotency_key]
    scrubbed, removed = scrub_answers(conn, requests, frozenset(str(g.id) for g in gone), wanted)
    return Erased(
        submissions=len(gone),
        canonical_orders=len(orders),
        outbox_events=events,
        answers_scrubbed=scrubbed,
        idempotency_records_removed=removed,
        submissions_requeued=requeued,
        invitations=invited,
        reviews=reviewed,
        suppressions_kept_as_hash=kept_as_hash,
    )
