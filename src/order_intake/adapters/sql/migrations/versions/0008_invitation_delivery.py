"""Invitation delivery: when the reminder goes, the last temporary failure, due reminders by an index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
REMINDER_DUE = "reminder_at IS NOT NULL AND reminder_sent_at IS NULL"


def upgrade() -> None:
    """Add the two columns and the due reminders' index."""
    with op.batch_alter_table("invitations") as table:
        table.add_column(sa.Column("reminder_at", TIMESTAMP, nullable=True))
        table.add_column(sa.Column("last_error", sa.String(300), nullable=True))
    op.create_index(
        "invitations_reminder_due",
        "invitations",
        ["reminder_at"],
        postgresql_where=sa.text(REMINDER_DUE),
        sqlite_where=sa.text(REMINDER_DUE),
    )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_index("invitations_reminder_due", table_name="invitations")
    with op.batch_alter_table("invitations") as table:
        table.drop_column("last_error")
        table.drop_column("reminder_at")
