"""SQL pieces erase and purge share: JSON fields and order locks (where SQLite and PostgreSQL differ), invitations."""

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from order_intake.adapters.postgres.locks import LOCK_ORDERS, lock_key
from order_intake.adapters.sql.schema import invitations, submission_outcomes, submission_queue
from order_intake.service.processing_records import OrderKey

T = TypeVar("T")

# Ids per `IN (...)`: far below both backends' limits on bound parameters.
CHUNK = 500


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def json_text(conn: sa.Connection, document: sa.ColumnElement[object], *path: str) -> sa.ColumnElement[str]:
    """A text field of a JSON document column (json or jsonb on PostgreSQL, JSON text on SQLite)."""
    if not _is_postgres(conn):
        return sa.func.json_extract(document, "$." + ".".join(path), type_=sa.Text)
    expr: sa.ColumnElement[object] = document
    for name in path[:-1]:
        expr = expr.op("->", return_type=postgresql.JSONB)(sa.literal_column(f"'{name}'"))
    return expr.op("->>", return_type=sa.Text)(sa.literal_column(f"'{path[-1]}'"))


def json_of_bytes(conn: sa.Connection, payload: sa.ColumnElement[bytes]) -> sa.ColumnElement[object]:
    """A bytes column holding UTF-8 JSON, as a document `json_text` reads."""
    if _is_postgres(conn):
        return sa.cast(sa.func.convert_from(payload, sa.literal_column("'UTF8'")), postgresql.JSONB)
    return sa.cast(payload, sa.Text)


def lock_orders(conn: sa.Connection, keys: Iterable[OrderKey]) -> None:
    """Take the advisory locks the processor holds while it merges these orders (PostgreSQL only).

    Then no processor can have read one of them before this transaction changes it and write it
    back afterwards. SQLite has one writer at a time, which already gives that.
    """
    numbers = sorted({lock_key(key) for key in keys})
    if numbers and _is_postgres(conn):
        conn.exec_driver_sql(LOCK_ORDERS, (numbers,))


def of_orders(columns: sa.ColumnCollection[str, Any], orders: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows of a table with organisation_id and order_ref that belong to these orders (id, organisation_id, order_ref).

    Canonical orders, submissions and invitations all have an index on the pair, so this is how they are
    found: by canonical_id alone, each chunk would read every submission or invitation.
    """
    refs: dict[int, list[str]] = {}
    for _, organisation_id, order_ref in orders:
        refs.setdefault(organisation_id, []).append(order_ref)
    return sa.or_(*((columns.organisation_id == org) & columns.order_ref.in_(names) for org, names in refs.items()))


def invitations_of(orders: Sequence[sa.Row[Any, Any, Any]]) -> sa.ColumnElement[bool]:
    """The invitations of these orders (rows of id, organisation_id, order_ref), through their order's index."""
    return of_orders(invitations.c, orders) & invitations.c.canonical_id.in_([row[0] for row in orders])


def forget_processing(conn: sa.Connection, ids: Sequence[object]) -> list[object]:
    """Delete the queue rows and outcomes of these (deleted) submissions; the canonical orders they were merged into."""
    merged: list[object] = []
    for part in chunks(ids):
        conn.execute(submission_queue.delete().where(submission_queue.c.submission_id.in_(part)))
        outcomes = submission_outcomes.delete().where(submission_outcomes.c.submission_id.in_(part))
        merged.extend(conn.execute(outcomes.returning(submission_outcomes.c.canonical_id)).scalars())
    return merged
