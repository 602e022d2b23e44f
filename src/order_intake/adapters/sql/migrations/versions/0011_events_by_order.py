"""Outbox events found by their order: an index on canonical_id in place of the unique one on event_id.

Purge and erasure find the events of the orders they delete by `canonical_id`, which no index
covered: every chunk of a purge (at most 500 orders) read the whole outbox, so a purge took time
in the square of the outbox's size (158 ms a chunk at 329,000 events; docs/performance.md). No
query reads events by `event_id`, which is made once per event from 122 random bits and never
changes, so its unique index only cost every event an insert into a B-tree of random keys; the
new index costs the same insert and serves the deletions.

On PostgreSQL, `CREATE INDEX` holds writes to the outbox while it runs (seconds per million
events). On SQLite dropping the unnamed constraint copies the table (Alembic's batch mode), as
0010 did: slow once on a large file; the partial index of unsent events is made again after it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql, remake_unsent_index

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PG_UNIQUE = "outbox_event_id_key"
# SQLite's reflected, nameless constraints get names from this convention for the batch copy.
_SQLITE_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_SQLITE_UNIQUE = "uq_outbox_event_id"


def upgrade() -> None:
    """Drop the unique constraint on event_id; index canonical_id."""
    if on_postgresql():
        op.drop_constraint(_PG_UNIQUE, "outbox", type_="unique")
    else:
        with op.batch_alter_table("outbox", naming_convention=_SQLITE_CONVENTION) as batch:
            batch.drop_constraint(_SQLITE_UNIQUE, type_="unique")
        remake_unsent_index()
    op.create_index("outbox_canonical", "outbox", ["canonical_id"])


def downgrade() -> None:
    """Put the unique constraint back, drop the index."""
    op.drop_index("outbox_canonical", table_name="outbox")
    if on_postgresql():
        op.create_unique_constraint(_PG_UNIQUE, "outbox", ["event_id"])
        return
    with op.batch_alter_table("outbox", naming_convention=_SQLITE_CONVENTION) as batch:
        batch.create_unique_constraint(_SQLITE_UNIQUE, ["event_id"])
    remake_unsent_index()
