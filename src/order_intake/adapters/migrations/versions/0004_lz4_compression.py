"""PostgreSQL: the large columns of submissions, canonical orders and the outbox compressed with lz4.

A submission row (a ~1 KB body, its ~1 KB normalised JSON) and a canonical order (its document and
field stamps) pass PostgreSQL's 2 KB threshold, so one column of each row is compressed on every
insert and decompressed on every read; the default, pglz, is the slow one. Measured with psql on
30,000 rows of the benchmark's order: insert 28-30 -> 21 us per row, reading the normalised JSON
back as text 10 -> 7 us. Only new values are compressed this way: nothing is rewritten.
Where the server has no lz4 (built without it, or older than PostgreSQL 14) the columns keep pglz.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = {
    "submissions": ("body", "normalised"),
    "canonical_orders": ("document", "stamps"),
    "outbox": ("payload",),
}


def _set(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    alters = " ".join(
        f"EXECUTE 'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}';"
        for table, columns in COLUMNS.items()
        for column in columns
    )
    # EXECUTE parses each statement when it runs, inside the block: a server without lz4 raises
    # feature_not_supported, one older than 14 a syntax error, and either keeps its default.
    op.execute(f"DO $$ BEGIN {alters} EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL; END $$")


def upgrade() -> None:
    """Compress new values of the large columns with lz4 where the server has it."""
    _set("lz4")


def downgrade() -> None:
    """Back to the server's default compression for new values."""
    _set("default")
