"""What the migrations that differ between PostgreSQL and SQLite share."""

import sqlalchemy as sa
from alembic import op

_UNSENT = sa.text("sent_at IS NULL")


def on_postgresql() -> bool:
    """Whether the migration runs on PostgreSQL (else SQLite)."""
    return bool(op.get_bind().dialect.name == "postgresql")


def remake_unsent_index() -> None:
    """The outbox's partial index of unsent events (before 0012), made again after a batch copy of the table.

    SQLite's copy makes the indexes again from what it reflects, which may drop the index's WHERE;
    downgrading 0012 makes it again on either database.
    """
    op.drop_index("outbox_unsent", table_name="outbox", if_exists=True)
    op.create_index("outbox_unsent", "outbox", ["id"], sqlite_where=_UNSENT, postgresql_where=_UNSENT)
