"""Submissions are never updated: a narrow queue says what waits for processing, outcomes what it did.

Marking a submission processed rewrote its whole ~2 KB row (a non-HOT UPDATE: a new row version and
an entry in each of its indexes) and claiming it wrote a row lock into it first; processing spent
more PostgreSQL time on that than on anything else. Now a trigger puts every inserted submission's id
into `submission_queue` (on PostgreSQL once per statement, from the statement's new rows, so a group
commit's COPY adds one small insert), processing deletes the queue rows it claims and records
`submission_outcomes` (submission, canonical order, when). Figures are in docs/performance.md.

Upgrading moves the state: submissions still `accepted` go to the queue in the order received,
processed ones to the outcomes; then the three columns and the (state, received_at) index go. On
SQLite dropping columns copies the table (Alembic's batch mode), as 0006 did.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PG_TRIGGER = (
    """
CREATE FUNCTION submissions_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO submission_queue (submission_id) SELECT id FROM inserted ORDER BY received_at;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER submissions_queued AFTER INSERT ON submissions REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION submissions_queued()
""",
)
_SQLITE_TRIGGER = """
CREATE TRIGGER submissions_queued AFTER INSERT ON submissions
BEGIN
  INSERT INTO submission_queue (submission_id) VALUES (NEW.id);
END
"""


def _create_trigger() -> None:
    if on_postgresql():
        for statement in _PG_TRIGGER:
            op.execute(statement)
    else:
        op.execute(_SQLITE_TRIGGER)


def upgrade() -> None:
    """Create the two tables, move the state into them, drop it from submissions, add the trigger."""
    op.create_table(
        "submission_queue",
        sa.Column("seq", ID, primary_key=True, autoincrement=True),
        sa.Column("submission_id", UUID, nullable=False),
    )
    op.create_table(
        "submission_outcomes",
        sa.Column("submission_id", UUID, primary_key=True),
        sa.Column("canonical_id", UUID, nullable=False),
        sa.Column("processed_at", TIMESTAMP, nullable=False),
    )
    op.execute(
        "INSERT INTO submission_queue (submission_id)"
        " SELECT id FROM submissions WHERE state = 'accepted' ORDER BY received_at"
    )
    op.execute(
        "INSERT INTO submission_outcomes (submission_id, canonical_id, processed_at)"
        " SELECT id, canonical_id, processed_at FROM submissions"
        " WHERE state = 'processed' AND canonical_id IS NOT NULL AND processed_at IS NOT NULL"
    )
    op.drop_index("submissions_state_received", table_name="submissions")
    with op.batch_alter_table("submissions") as table:
        table.drop_column("canonical_id")
        table.drop_column("processed_at")
        table.drop_column("state")
    _create_trigger()


def downgrade() -> None:
    """Put the state back into submissions' columns and remove the tables and the trigger."""
    op.execute("DROP TRIGGER submissions_queued" + (" ON submissions" if on_postgresql() else ""))
    if on_postgresql():
        op.execute("DROP FUNCTION submissions_queued()")
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="accepted"))
        table.add_column(sa.Column("processed_at", TIMESTAMP, nullable=True))
        table.add_column(sa.Column("canonical_id", UUID, nullable=True))
    op.execute(
        "UPDATE submissions SET state = 'processed',"
        " processed_at = (SELECT o.processed_at FROM submission_outcomes o WHERE o.submission_id = submissions.id),"
        " canonical_id = (SELECT o.canonical_id FROM submission_outcomes o WHERE o.submission_id = submissions.id)"
        " WHERE id IN (SELECT submission_id FROM submission_outcomes)"
    )
    op.create_index("submissions_state_received", "submissions", ["state", "received_at"])
    op.drop_table("submission_outcomes")
    op.drop_table("submission_queue")
