"""Setting PostgreSQL's compression method of columns, shared by the migrations that need it."""

from collections.abc import Mapping

from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql


def set_compression(columns: Mapping[str, tuple[str, ...]], method: str) -> None:
    """`ALTER COLUMN ... SET COMPRESSION method` for each table's columns, on PostgreSQL only.

    Where the server has no lz4 (built without it, or older than PostgreSQL 14) the columns keep
    their method: EXECUTE parses each statement when it runs, inside the block, so a server without
    lz4 raises feature_not_supported, one older than 14 a syntax error, and either is let pass.
    """
    if not on_postgresql():
        return
    alters = " ".join(
        f"EXECUTE 'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}';"
        for table, names in columns.items()
        for column in names
    )
    op.execute(f"DO $$ BEGIN {alters} EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL; END $$")
