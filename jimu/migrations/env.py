"""Alembic env: runs against the connection Jimu passes in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from jimu.platform.db import system_metadata
from jimu.platform.store import tables  # noqa: F401  (registers the tables)

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - alembic CLI use
    from jimu.platform.db import make_engine

    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=system_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=system_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
