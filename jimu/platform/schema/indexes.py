"""The system indexes of generated tables, created where they are missing.

:func:`jimu.platform.schema.columns.system_indexes` declares them on every table built
from a spec, so a table created by a publish has them from the start; so are the composite
indexes an entity declares (``indexes: [[run, item]]``, named ``ix_<table>_<i>``). Tables
created before an index was declared get it here: on every publish (inside its transaction) and
when Jimu opens a database (:func:`jimu.platform.store.bootstrap.upgrade_app_tables`).
One catalogue query lists what exists, so an up-to-date database costs one query.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jimu.platform.schema.columns import AppTables, system_indexes, table_name
from jimu.platform.specs.app import AppSpec

__all__ = ["existing_indexes", "ensure_system_indexes"]

log = logging.getLogger("jimu.schema")


def existing_indexes(conn: Connection) -> tuple[set[str], set[str]]:
    """(table names, index names) present in the connection's database (its current
    schema on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(sa.text("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')")).all()
        return {n for t, n in rows if t == "table"}, {n for t, n in rows if t == "index"}
    tables = set(conn.execute(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())
    indexes = set(conn.execute(sa.text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")).scalars())
    return tables, indexes


def ensure_system_indexes(conn: Connection, app: AppSpec, tables: AppTables | None = None,
                          present: tuple[set[str], set[str]] | None = None) -> list[str]:
    """Create the system indexes missing on ``app``'s existing tables (in the caller's
    transaction); returns the names created."""
    tables = tables or AppTables(app)
    have_tables, have_indexes = present or existing_indexes(conn)
    created: list[str] = []
    for entity in app.entities:
        table = tables.get(entity.name)
        if table is None or table.name not in have_tables:
            continue
        tname = table_name(app.name, entity)
        wanted = {name for name, _cols in system_indexes(app, entity, tname)}
        wanted |= {f"ix_{tname}_{i}"[:63] for i in range(len(entity.indexes))}  # the entity's declared ones
        for index in table.indexes:
            if index.name in wanted and index.name not in have_indexes:
                index.create(conn)
                have_indexes.add(str(index.name))
                created.append(str(index.name))
    if created:
        log.info("app %s: created system indexes %s", app.name, ", ".join(created))
    return created
