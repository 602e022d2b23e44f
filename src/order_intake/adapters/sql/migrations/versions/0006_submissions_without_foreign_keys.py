"""Submissions: no foreign keys to their organisation and key.

With them, every inserted submission runs two foreign-key checks: a lookup of its organisation and
of its key, and on PostgreSQL a `FOR KEY SHARE` lock of those same parent rows, taken by every
writer of every process on every group (a sixth to a third of PostgreSQL's CPU per order:
docs/performance.md). Organisations and keys are never deleted (they are disabled, keys are
revoked), and a submission is only written for a key and organisation just authenticated, so the
checks guard against states the code cannot produce.

SQLite cannot drop a constraint in place: the table is copied (Alembic's batch mode), so on a large
embedded database the upgrade takes a while and holds the write lock throughout.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op

from order_intake.adapters.sql.migrations.dialects import on_postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# PostgreSQL's names for the constraints 0001 created without names, and the names SQLite's
# (reflected, nameless) ones get from this convention for the batch copy.
_PG_NAMES = {"organisation_id": "submissions_organisation_id_fkey", "api_key_id": "submissions_api_key_id_fkey"}
_SQLITE_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s"}
_PARENTS = {"organisation_id": "organisations", "api_key_id": "api_keys"}


def _sqlite_name(column: str) -> str:
    return _SQLITE_CONVENTION["fk"] % {"table_name": "submissions", "column_0_name": column}


def upgrade() -> None:
    """Drop the two foreign keys."""
    if on_postgresql():
        for name in _PG_NAMES.values():
            op.drop_constraint(name, "submissions", type_="foreignkey")
        return
    with op.batch_alter_table("submissions", naming_convention=_SQLITE_CONVENTION) as batch:
        for column in _PARENTS:
            batch.drop_constraint(_sqlite_name(column), type_="foreignkey")


def downgrade() -> None:
    """Put them back."""
    if on_postgresql():
        for column, name in _PG_NAMES.items():
            op.create_foreign_key(name, "submissions", _PARENTS[column], [column], ["id"])
        return
    with op.batch_alter_table("submissions", naming_convention=_SQLITE_CONVENTION) as batch:
        for column, parent in _PARENTS.items():
            batch.create_foreign_key(_sqlite_name(column), parent, [column], ["id"])
