"""Canonical orders, their outbox of events, submission processing state, key rate limits, audit rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add processing, events, rate limits and the audit table."""
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("processed_at", TIMESTAMP, nullable=True))
        table.add_column(sa.Column("canonical_id", UUID, nullable=True))
    with op.batch_alter_table("api_keys") as table:
        table.add_column(sa.Column("rate", sa.Float(), nullable=False, server_default="100"))
        table.add_column(sa.Column("burst", sa.Integer(), nullable=False, server_default="200"))
    op.create_table(
        "canonical_orders",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("order_ref", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("stamps", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("organisation_id", "order_ref", name="canonical_orders_org_order_ref"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", UUID, nullable=False, unique=True),
        sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("canonical_id", UUID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("routing_key", sa.String(320), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
    )
    op.create_index(
        "outbox_unsent",
        "outbox",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
    )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_table("audit_log")
    op.drop_index("outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("canonical_orders")
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("burst")
        table.drop_column("rate")
    with op.batch_alter_table("submissions") as table:
        table.drop_column("canonical_id")
        table.drop_column("processed_at")
