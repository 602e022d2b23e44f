"""PostgreSQL: the JSON written once and read back whole is stored as `json` (the text), not `jsonb`.

A submission's normalised order and a canonical order's document and stamps are written by the
intake and the processor and read back whole, as text; only erasure looks inside them (the
customer's email). `jsonb` parses every value into its binary form on insert and prints it back to
text on every read: work that `json` spares every insert and read (docs/performance.md). Erasure's
email lookup parses the text instead, a few microseconds more per row it scans.

The change rewrites the three columns, compressing the values with lz4 again as 0004 set (a new
type drops the method). ALTER COLUMN ... TYPE holds an exclusive lock on the table while it
rewrites: on a large database, run `order-intake db upgrade` in a quiet moment.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

from order_intake.adapters.sql.migrations.compression import set_compression
from order_intake.adapters.sql.migrations.dialects import on_postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = {"submissions": ("normalised",), "canonical_orders": ("document", "stamps")}


def _set(type_: str) -> None:
    if not on_postgresql():
        return
    for table, columns in COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} TYPE {type_} USING {c}::{type_}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    set_compression(COLUMNS, "lz4")  # a new type drops the method 0004 set


def upgrade() -> None:
    """Store the documents as json text."""
    _set("json")


def downgrade() -> None:
    """Back to jsonb."""
    _set("jsonb")
