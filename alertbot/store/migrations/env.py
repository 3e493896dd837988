"""Alembic's entry point: migrate the connection :func:`alertbot.store.migrations.upgrade`
hands over, inside the caller's transaction."""

from __future__ import annotations

from alembic import context

from alertbot.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode copies the table instead.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
