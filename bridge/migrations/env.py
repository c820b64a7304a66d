"""Alembic environment of the platform DB (run in-process by ``bridge.db.migrate``).

The caller hands over an open connection in ``config.attributes["connection"]``; batch mode
keeps future ALTERs working on SQLite as well as Postgres.
"""

from alembic import context

from bridge.models import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
