"""Review invitations: one per canonical order, the organisations' policies, suppressions, reviews, sandbox keys.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True).with_variant(sa.String(36), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.String(32), "sqlite")
JSON_TEXT = sa.Text().with_variant(postgresql.JSON(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The invitations a new order of the customer can interact with (see schema.py).
LIVE = "state IN ('scheduled', 'sent') OR (state = 'skipped' AND reason = 'cooldown')"


def upgrade() -> None:
    """Add the invitation tables and the two new columns."""
    with op.batch_alter_table("api_keys") as table:
        table.add_column(sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("organisations") as table:
        table.add_column(sa.Column("invitation_policy", JSON_TEXT, nullable=True))
    op.create_table(
        "invitations",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("order_ref", sa.String(255), nullable=False),
        sa.Column("canonical_id", UUID, nullable=False),
        sa.Column("customer_key", sa.String(330), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("fulfilment_date", sa.Date(), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("send_at", TIMESTAMP, nullable=True),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("reminder_sent_at", TIMESTAMP, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("explanation", JSON_TEXT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("organisation_id", "order_ref", name="invitations_org_order_ref"),
    )
    op.create_index("invitations_customer", "invitations", ["organisation_id", "customer_key"])
    op.create_index(
        "invitations_customer_live",
        "invitations",
        ["organisation_id", "customer_key"],
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )
    op.create_index("invitations_email", "invitations", ["organisation_id", "email"])
    op.create_index(
        "invitations_due",
        "invitations",
        ["send_at"],
        postgresql_where=sa.text("state = 'scheduled'"),
        sqlite_where=sa.text("state = 'scheduled'"),
    )
    op.create_table(
        "suppressions",
        sa.Column("organisation_id", ID, primary_key=True),
        sa.Column("email_hash", sa.LargeBinary(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "reviews",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("invitation_id", UUID, nullable=False),
        sa.Column("sku", sa.String(255), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("invitation_id", "sku", name="reviews_invitation_sku"),
    )
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    """Remove what upgrade added."""
    op.drop_table("service_secrets")
    op.drop_table("reviews")
    op.drop_table("suppressions")
    op.drop_index("invitations_due", table_name="invitations")
    op.drop_index("invitations_email", table_name="invitations")
    op.drop_index("invitations_customer_live", table_name="invitations")
    op.drop_index("invitations_customer", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("organisations") as table:
        table.drop_column("invitation_policy")
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("sandbox")
