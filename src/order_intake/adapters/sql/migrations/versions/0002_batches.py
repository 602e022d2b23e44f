"""Batches: the stored answer of each batch and the organisations it touched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the batch tables."""
    op.create_table(
        "batches",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "batch_organisations",
        sa.Column("batch_id", UUID, sa.ForeignKey("batches.id"), primary_key=True),
        sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), primary_key=True),
    )


def downgrade() -> None:
    """Drop the batch tables."""
    op.drop_table("batch_organisations")
    op.drop_table("batches")
