"""Physical tables of user entities and their live evolution."""

from jimu.platform.schema.columns import AppTables, build_table, column_name, sql_type, table_name
from jimu.platform.schema.evolve import (
    SchemaOp,
    TypeChangePreview,
    apply_schema,
    assign_physical_names,
    plan_schema,
    preview_changes,
)
from jimu.platform.schema.indexes import ensure_system_indexes, existing_indexes

__all__ = [
    "AppTables",
    "SchemaOp",
    "TypeChangePreview",
    "apply_schema",
    "assign_physical_names",
    "build_table",
    "column_name",
    "ensure_system_indexes",
    "existing_indexes",
    "plan_schema",
    "preview_changes",
    "sql_type",
    "table_name",
]
