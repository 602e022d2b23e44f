"""Organisations, API keys, submissions and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
JSON = sa.Text().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the first schema."""
    op.create_table(
        "organisations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("trkref", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("customer_order_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("secret_salt", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("customer_order", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
    )
    op.create_table(
        "api_key_organisations",
        sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), primary_key=True),
    )
    op.create_table(
        "submissions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("organisation_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("normalised", JSON, nullable=False),
        sa.Column("order_ref", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("batch_id", UUID, nullable=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="accepted"),
    )
    op.create_index("submissions_org_order_ref", "submissions", ["organisation_id", "order_ref"])
    op.create_index("submissions_state_received", "submissions", ["state", "received_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", ID, sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    """Drop everything the first schema made."""
    for table in (
        "idempotency_keys",
        "submissions",
        "api_key_organisations",
        "api_keys",
        "organisations",
    ):
        op.drop_table(table)
