"""Events waiting for the broker are listed in a narrow table; the outbox's rows are never updated.

The relay marked each event it published by setting `sent_at`: an UPDATE that wrote a new version
of the ~2 KB row (not a HOT one: `sent_at` is in the partial index's predicate), an entry in each of
the outbox's indexes and a dead row for vacuum to clear, about a quarter of what processing costs
PostgreSQL per order (docs/performance.md). As submissions got in 0009: a trigger puts every new
event's id into `outbox_pending` (on PostgreSQL once per statement, from the statement's new rows),
the relay deletes the rows it publishes, and deleting an event (purge, erasure) deletes its row
there too, by a second trigger.

Upgrading lists the events not sent yet, then drops `sent_at` and the partial index. On SQLite
dropping the column copies the table (Alembic's batch mode), as 0010 did; its triggers are made
after the copy. Downgrading puts `sent_at` back, set to the time of the downgrade for the events
sent (the time each was sent is not kept).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql, remake_unsent_index

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")

# A statement's deleted rows are found by the pending table's key (an array, so that the plan never
# reads the whole table, which holds every event while no broker is configured).
_PG_TRIGGERS = (
    """
CREATE FUNCTION outbox_pending_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO outbox_pending (id) SELECT id FROM added;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER outbox_pending_added AFTER INSERT ON outbox REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_pending_added()
""",
    """
CREATE FUNCTION outbox_pending_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM outbox_pending WHERE id = ANY(ARRAY(SELECT id FROM removed));
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER outbox_pending_removed AFTER DELETE ON outbox REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_pending_removed()
""",
)
_SQLITE_TRIGGERS = (
    """
CREATE TRIGGER outbox_pending_added AFTER INSERT ON outbox
BEGIN
  INSERT INTO outbox_pending (id) VALUES (NEW.id);
END
""",
    """
CREATE TRIGGER outbox_pending_removed AFTER DELETE ON outbox
BEGIN
  DELETE FROM outbox_pending WHERE id = OLD.id;
END
""",
)
_TRIGGERS = ("outbox_pending_added", "outbox_pending_removed")


def upgrade() -> None:
    """List the unsent events, drop `sent_at` and its index, add the triggers."""
    if on_postgresql():
        # No event may be written between the listing and the triggers (a node of the version before,
        # still running): it would never be listed, so never published. SQLite's migration holds the
        # write lock throughout.
        op.execute("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
    op.create_table("outbox_pending", sa.Column("id", ID, primary_key=True, autoincrement=False))
    op.execute("INSERT INTO outbox_pending (id) SELECT id FROM outbox WHERE sent_at IS NULL")
    op.drop_index("outbox_unsent", table_name="outbox")
    with op.batch_alter_table("outbox") as table:
        table.drop_column("sent_at")
    for statement in _PG_TRIGGERS if on_postgresql() else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    """Put `sent_at` back (the downgrade's time for the events sent), its index, and drop the table."""
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}" + (" ON outbox" if on_postgresql() else ""))
        if on_postgresql():
            op.execute(f"DROP FUNCTION {name}()")
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("sent_at", TIMESTAMP, nullable=True))
    # SQLite's timestamps are to_sqlite_time's text.
    now = "now()" if on_postgresql() else "strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00'"
    listed = "SELECT 1 FROM outbox_pending p WHERE p.id = outbox.id"  # an anti-join, whatever the list's size
    op.execute(f"UPDATE outbox SET sent_at = {now} WHERE NOT EXISTS ({listed})")  # noqa: S608
    remake_unsent_index()
    op.drop_table("outbox_pending")
