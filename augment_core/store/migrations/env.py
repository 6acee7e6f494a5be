"""Alembic's environment: run the migrations on the connection ``migrate.upgrade`` hands over."""

from __future__ import annotations

from alembic import context

from augment_core.store.schema import metadata

connection = context.config.attributes["connection"]
# Batch mode: SQLite changes a table by rebuilding it; other databases get plain ALTER TABLE.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
