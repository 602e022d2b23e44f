"""The audit log: who changed keys, organisations or data, what and when; written in the change's transaction."""

import datetime as dt
from typing import Any

import msgspec
import sqlalchemy as sa

from order_intake.adapters.sql.schema import audit_log

__all__ = ["AuditEntry", "list_entries", "record", "update_details"]


class AuditEntry(msgspec.Struct, frozen=True):
    """One audit row as `audit list` shows it."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]


def _stored(conn: sa.Connection, details: dict[str, Any]) -> object:
    """JSONB takes the value itself on PostgreSQL; SQLite keeps JSON text."""
    return details if conn.dialect.name == "postgresql" else msgspec.json.encode(details).decode()


def record(  # noqa: PLR0913 - one argument per column
    conn: sa.Connection, *, at: dt.datetime, actor: str, action: str, target: str, details: dict[str, Any]
) -> int:
    """Add a row (in the caller's transaction); its id."""
    inserted = conn.execute(
        audit_log.insert()
        .values(at=at, actor=actor[:255], action=action, target=target, details=_stored(conn, details))
        .returning(audit_log.c.id)
    )
    return int(inserted.scalar_one())


def update_details(conn: sa.Connection, entry_id: int, details: dict[str, Any]) -> None:
    """Replace a row's details: a change made in several transactions keeps its row up to date with each."""
    conn.execute(audit_log.update().where(audit_log.c.id == entry_id).values(details=_stored(conn, details)))


def list_entries(conn: sa.Connection, *, limit: int | None) -> list[AuditEntry]:
    """The rows in the order they were written; with a limit, only the latest ones."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target=row.target,
            details=msgspec.json.decode(row.details) if isinstance(row.details, str) else row.details,
        )
        for row in reversed(rows)
    ]
