"""Alembic environment: runs on the connection that order_intake.adapters.sql.migrate hands over."""

from alembic import context

from order_intake.adapters.sql.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
