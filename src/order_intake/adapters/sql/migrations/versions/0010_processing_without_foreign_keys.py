"""Canonical orders and outbox events: no foreign key to their organisation.

Processing writes a canonical order and an event for every order it merges, and each row ran a
foreign-key check: a lookup of the organisation and, on PostgreSQL, a `FOR KEY SHARE` lock of that
same row, taken by every processor's transaction at once (docs/performance.md has the figures).
As for submissions (0006): organisations are never deleted, and both rows are written only for
the organisation of a submission that was stored for an authenticated key, so the check guards
a state the code cannot produce.

On SQLite dropping a constraint copies the table (Alembic's batch mode), as 0006 did: slow once on
a large file. The outbox's partial index is made again here, so that its WHERE survives the copy.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql, remake_unsent_index

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TABLES = ("canonical_orders", "outbox")
# SQLite's reflected, nameless constraints get names from this convention for the batch copy.
_SQLITE_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s"}


def _pg_name(table: str) -> str:
    return f"{table}_organisation_id_fkey"


def _sqlite_name(table: str) -> str:
    return _SQLITE_CONVENTION["fk"] % {"table_name": table, "column_0_name": "organisation_id"}


def upgrade() -> None:
    """Drop the two foreign keys."""
    for table in _TABLES:
        if on_postgresql():
            op.drop_constraint(_pg_name(table), table, type_="foreignkey")
            continue
        with op.batch_alter_table(table, naming_convention=_SQLITE_CONVENTION) as batch:
            batch.drop_constraint(_sqlite_name(table), type_="foreignkey")
    if not on_postgresql():
        remake_unsent_index()


def downgrade() -> None:
    """Put them back."""
    for table in _TABLES:
        if on_postgresql():
            op.create_foreign_key(_pg_name(table), table, "organisations", ["organisation_id"], ["id"])
            continue
        with op.batch_alter_table(table, naming_convention=_SQLITE_CONVENTION) as batch:
            batch.create_foreign_key(_sqlite_name(table), "organisations", ["organisation_id"], ["id"])
    if not on_postgresql():
        remake_unsent_index()
