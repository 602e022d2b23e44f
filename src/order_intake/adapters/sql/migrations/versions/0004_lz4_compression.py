"""PostgreSQL: the large columns of submissions, canonical orders and the outbox compressed with lz4.

A submission row (a ~1 KB body, its ~1 KB normalised JSON) and a canonical order (its document and
field stamps) pass PostgreSQL's 2 KB threshold, so one column of each row is compressed on every
insert and decompressed on every read; the default, pglz, is the slow one (lz4 takes about a
quarter off each insert: docs/performance.md). Only new values are compressed this way: nothing is
rewritten.
Where the server has no lz4 (built without it, or older than PostgreSQL 14) the columns keep pglz.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from order_intake.adapters.sql.migrations.compression import set_compression

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = {
    "submissions": ("body", "normalised"),
    "canonical_orders": ("document", "stamps"),
    "outbox": ("payload",),
}


def upgrade() -> None:
    """Compress new values of the large columns with lz4 where the server has it."""
    set_compression(COLUMNS, "lz4")


def downgrade() -> None:
    """Back to the server's default compression for new values."""
    set_compression(COLUMNS, "default")
