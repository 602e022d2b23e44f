"""Purge past retention, one bounded chunk per transaction: submissions, then what only they kept alive."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.privacy import CHUNK, forget_processing, invitations_of, lock_orders, of_orders
from order_intake.adapters.sql.schema import (
    batch_organisations,
    batches,
    canonical_orders,
    idempotency_keys,
    invitations,
    outbox,
    outbox_pending,
    reviews,
    submissions,
)

__all__ = ["Purged", "Sweep", "purge_chunk"]


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


class Sweep:
    """How far one purge's searches for old rows have gone in each table, across its chunks.

    Each chunk is its own transaction. A search that started at the table's beginning every time read
    again, in every chunk, every row it had passed before: the rows kept, and on PostgreSQL the rows
    deleted by the chunks before until VACUUM removes them. So a purge took time in the square of its
    size. Each search goes on instead from where the last one stopped: the row's heap block on
    PostgreSQL, its rowid on SQLite, both the order a sequential scan reads in. A search that finds
    nothing starts once more at the beginning, and only one from the beginning that finds nothing ends,
    so a row passed by, or moved behind the position by VACUUM FULL, is still found. Once ended, a
    table's search is not made again by this purge: no row can become old meanwhile (the cutoff is
    fixed, and what is written now is new), and each later chunk would read the whole table.
    """

    def __init__(self) -> None:
        self.positions: dict[str, int] = {}
        self.started = dt.datetime.now(dt.UTC)


_DONE = -1  # a position: this purge's search of the table ended


def _search(conn: sa.Connection, sweep: Sweep, table: sa.Table, query: sa.Select[Any]) -> Sequence[Sequence[Any]]:
    """The rows `query` (on `table`, with its limit) finds, from where the last search in `table` stopped."""
    name, heap = table.name, conn.dialect.name == "postgresql"
    # PostgreSQL: the row's heap block, and a condition on ctid itself, which a TID range scan serves
    position: sa.ColumnElement[int] = sa.literal_column(
        f"({name}.ctid::text::point)[0]::bigint" if heap else f"{name}.rowid"
    )
    while (start := sweep.positions.get(name, 0)) != _DONE:
        tid: sa.ColumnElement[Any] = sa.literal_column(f"'({int(start)},0)'::tid")
        onward = sa.literal_column(f"{name}.ctid") >= tid if heap else position >= start
        found = conn.execute(query.add_columns(position).where(onward)).all()
        if found:
            sweep.positions[name] = max(row[-1] for row in found)
            return [row[:-1] for row in found]
        sweep.positions[name] = _DONE if start == 0 else 0
    return []


def _submissions(conn: sa.Connection, cutoff: dt.datetime, limit: int, sweep: Sweep) -> Sequence[Sequence[Any]]:
    """Delete up to `limit` submissions received before the cutoff; their (id, organisation_id, order_ref)."""
    s = submissions.c
    old = s.received_at < cutoff
    found = _search(conn, sweep, submissions, sa.select(s.id).where(old).limit(limit))
    if not found:
        return []
    delete = submissions.delete().where(s.id.in_([row[0] for row in found]), old)
    gone = conn.execute(delete.returning(s.id, s.organisation_id, s.order_ref)).all()
    forget_processing(conn, [row[0] for row in gone])
    return gone


# Far longer than a request takes from its arrival (received_at) to its commit.
_IN_FLIGHT = dt.timedelta(hours=1)


def _batches(conn: sa.Connection, cutoff: dt.datetime, limit: int, sweep: Sweep) -> int:
    """Batches received before the cutoff, once this purge's search for old submissions has ended.

    A batch and its submissions are stored with the same `received_at` (one request), in one
    transaction, so once no submission received before the cutoff is left, none of these batches has
    a submission left (all were purged, or none was accepted). Checking each batch instead read every
    submission once a chunk (no index covers `batch_id`): most of a purge's time (docs/performance.md).
    Only a cutoff within the hour before the purge started (`--older-than 0`) can meet a batch
    committed after that search ended, its submissions with it: those recent batches are checked.
    """
    if sweep.positions.get(submissions.name) != _DONE:
        return 0
    b = batches.c
    old = sa.select(b.id).where(b.received_at < cutoff).limit(limit)
    settled = sweep.started - _IN_FLIGHT
    if cutoff > settled:
        left = sa.select(submissions.c.id).where(submissions.c.batch_id == b.id).exists()
        old = old.where((b.received_at < settled) | ~left)
    ids = [row[0] for row in _search(conn, sweep, batches, old)]
    if ids:
        conn.execute(batch_organisations.delete().where(batch_organisations.c.batch_id.in_(ids)))
        conn.execute(batches.delete().where(batches.c.id.in_(ids)))
    return len(ids)


def _idempotency(conn: sa.Connection, before: dt.datetime, limit: int) -> int:
    k = idempotency_keys.c
    old = sa.select(k.api_key_id, k.key).where(k.created_at < before).limit(limit)
    return conn.execute(idempotency_keys.delete().where(sa.tuple_(k.api_key_id, k.key).in_(old))).rowcount


def _gone(cutoff: dt.datetime) -> sa.ColumnElement[bool]:
    """Orders last changed before the cutoff, no submission left, no recent event unsent.

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
        .join(outbox_pending, outbox_pending.c.id == outbox.c.id)
        .where(outbox.c.canonical_id == c.id, outbox.c.created_at >= cutoff)
        .exists()
    )
    return (c.updated_at < cutoff) & ~left & ~unsent


def _find_orders(
    conn: sa.Connection, gone: sa.ColumnElement[bool], limit: int, of: Sequence[Any], sweep: Sweep
) -> Sequence[Sequence[Any]]:
    """Up to `limit` orders to delete: among the orders of these deleted submissions, else by the sweep.

    While old submissions are left, each chunk looks only at the orders of the submissions it deleted;
    once none is left, the sweep looks at every order once more, for those nothing deleted here let go.
    """
    c = canonical_orders.c
    columns = [c.id, c.organisation_id, c.order_ref]
    if of:
        return conn.execute(sa.select(*columns).where(of_orders(c, of), gone)).all()
    return _search(conn, sweep, canonical_orders, sa.select(*columns).where(gone).limit(limit))


def _canonical_orders(
    conn: sa.Connection, cutoff: dt.datetime, limit: int, of: Sequence[Any], sweep: Sweep
) -> tuple[int, int, int]:
    """Orders with nothing left to keep them (`_gone`), with their events and invitations."""
    c = canonical_orders.c
    gone = _gone(cutoff)
    found = _find_orders(conn, gone, limit, of, sweep)
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


def _old_events(conn: sa.Connection, cutoff: dt.datetime, limit: int, sweep: Sweep) -> int:
    """Events of orders still kept, made before the cutoff (older versions of the order), sent or not."""
    e = outbox.c
    old = _search(conn, sweep, outbox, sa.select(e.id).where(e.created_at < cutoff).limit(limit))
    return conn.execute(outbox.delete().where(e.id.in_([row[0] for row in old]))).rowcount if old else 0


def purge_chunk(
    conn: sa.Connection,
    *,
    cutoff: dt.datetime,
    idempotency_before: dt.datetime,
    limit: int = CHUNK,
    sweep: Sweep | None = None,
) -> Purged:
    """Delete at most `limit` rows of each kind; an empty result means nothing is left to purge.

    One purge passes the same `sweep` to each of its chunks (without, each chunk's searches start at
    the beginning of each table).
    """
    sweep = sweep or Sweep()
    deleted = _submissions(conn, cutoff, limit, sweep)
    orders, events, invited = _canonical_orders(conn, cutoff, limit, deleted, sweep)
    return Purged(
        submissions=len(deleted),
        batches=_batches(conn, cutoff, limit, sweep),
        idempotency_records=_idempotency(conn, idempotency_before, limit),
        canonical_orders=orders,
        outbox_events=events + _old_events(conn, cutoff, limit, sweep),
        invitations=invited,
    )
