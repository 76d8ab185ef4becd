"""Live schema evolution (DESIGN section 4) with alembic ``Operations``.

- Adding a field adds a nullable column; a literal default is the column's server default
  (an O(1) change on SQLite and PostgreSQL 11+, whatever the row count); an expression
  default is backfilled row by row, and so is a stored formula reading only its own record.
- Renaming keeps the column (``FieldSpec.column``) and changes only the name mapping.
- Removing a field archives it: the column stays, hidden, restorable.
- A type change is previewed: rows whose value would not convert are counted and sampled;
  it is refused unless the caller chooses a conversion (``{"on_error": "null"}`` or
  ``{"on_error": "default", "value": ...}``).
Everything runs on the caller's connection, inside the publish transaction, so DDL and
the metadata revision commit together or not at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from jimu.core import pyast
from jimu.core.errors import FieldError, ValidationError
from jimu.platform.schema.columns import (
    AppTables,
    column_name,
    field_index_kind,
    index_name,
    sql_type,
    table_name,
)
from jimu.platform.schema.indexes import ensure_system_indexes
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec
from jimu.platform.values import coerce

__all__ = ["SchemaOp", "TypeChangePreview", "assign_physical_names", "plan_schema", "preview_changes",
           "apply_schema", "literal_default"]


@dataclass
class SchemaOp:
    action: str  # create_table | add_column | retype_column | create_index | drop_index | add_parent_key
    entity: str
    field: str | None = None
    summary_zh: str = ""
    summary_en: str = ""
    details: dict[str, Any] = dc_field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TypeChangePreview:
    entity: str
    field: str
    old_type: str
    new_type: str
    rows: int
    failing: int
    samples: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _type_key(f: FieldSpec) -> str:
    return str(sql_type(f).compile(dialect=_pg()))


def assign_physical_names(old: AppSpec | None, new: AppSpec) -> AppSpec:
    """A copy of ``new`` with every entity's table and every field's column fixed: kept
    from ``old`` where the element existed, else derived from the name (de-duplicated
    against columns already taken, archived ones included).

    A field whose type changes gets a fresh column; the old column stays as an archived
    field (``<name>_was_<type>``) so the original values are never lost."""
    new = new.model_copy(deep=True)
    for entity in new.entities:
        before = old.entity(entity.name) if old else None
        entity.table = entity.table or (before.table if before and before.table else table_name(new.name, entity))
        taken = {column_name(f) for f in (before.fields if before else [])}
        old_by_col = {column_name(f): f for f in (before.fields if before else []) if f.stored}
        by_name = {f.name: f for f in (before.fields if before else [])}
        claimed: set[str] = {f.column for f in entity.fields if f.column}
        for f in entity.fields:
            if not f.stored:
                continue
            if f.column and f.column in old_by_col and _type_key(old_by_col[f.column]) != _type_key(f):
                f.column = None  # retyped: a new column, the old one is archived below
            if f.column:
                continue
            prev = by_name.get(f.name)
            if prev is not None and prev.stored and column_name(prev) not in claimed and _type_key(prev) == _type_key(f):
                f.column = column_name(prev)
            else:
                col, n = f.name, 2
                while col in taken or col in claimed:
                    col, n = f"{f.name}_{n}", n + 1
                f.column = col
            claimed.add(f.column)
        # Fields dropped from the list, or whose column was replaced, are kept archived.
        if before:
            present = {f.column for f in entity.fields if f.stored}
            for f in before.fields:
                if f.stored and column_name(f) not in present:
                    kept = f.model_copy(deep=True)
                    kept.column = column_name(f)
                    kept.archived = True
                    if entity.field(kept.name) is not None:
                        kept.name = f"{kept.name}_was_{kept.type}"[:63]
                    entity.fields.append(kept)
    if old:
        for before_entity in old.entities:
            if new.entity(before_entity.name) is None:
                kept_entity = before_entity.model_copy(deep=True)
                kept_entity.archived = True
                new.entities.append(kept_entity)
    return new


def literal_default(field: FieldSpec) -> tuple[bool, Any]:
    """(True, value) when the field's default is a constant, (False, None) otherwise."""
    value = field.default
    if value is None:
        return True, None
    if not isinstance(value, str):
        return True, value
    text = value.strip()
    if text in ("True", "False", "None"):
        return True, {"True": True, "False": False, "None": None}[text]
    try:
        lit = pyast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if isinstance(lit, (str, int, float, bool)):
        return True, lit
    return False, None


def _fields_by_column(entity: EntitySpec | None) -> dict[str, FieldSpec]:
    return {column_name(f): f for f in (entity.fields if entity else []) if f.stored}


def plan_schema(old: AppSpec | None, new: AppSpec) -> list[SchemaOp]:
    """The DDL steps from ``old`` to ``new`` (both with physical names assigned)."""
    ops: list[SchemaOp] = []
    for entity in new.entities:
        before = old.entity(entity.name) if old else None
        label = entity.label.zh or entity.name
        if before is None:
            ops.append(SchemaOp("create_table", entity.name, None, f"创建表 {table_name(new.name, entity)}（{label}）",
                                f"create table {table_name(new.name, entity)} for {entity.name}"))
            continue
        if old is not None and old.parent_of(entity.name) is None and new.parent_of(entity.name) is not None:
            ops.append(SchemaOp("add_parent_key", entity.name, None, f"{label} 成为子表", f"{entity.name} becomes a child table"))
        old_cols = _fields_by_column(before)
        old_active = {f.name: f for f in before.fields if f.stored and not f.archived}
        for f in entity.fields:
            if not f.stored:
                continue
            col = column_name(f)
            prev = old_cols.get(col)
            if prev is None:
                source = old_active.get(f.name)
                if source is not None and column_name(source) != col and not f.archived:
                    ops.append(SchemaOp("retype_column", entity.name, f.name,
                                        f"修改 {label}.{f.name} 的类型：{source.value_type} → {f.value_type}（原列 {column_name(source)} 保留）",
                                        f"change type of {entity.name}.{f.name}: {source.value_type} -> {f.value_type}"
                                        f" (old column {column_name(source)} kept)",
                                        {"old_type": source.value_type, "new_type": f.value_type,
                                         "old_column": column_name(source), "new_column": col}))
                else:
                    ops.append(SchemaOp("add_column", entity.name, f.name, f"为 {label} 增加列 {col}",
                                        f"add column {col} to {entity.name}"))
            old_kind = field_index_kind(prev) if prev else None
            new_kind = field_index_kind(f)
            if prev is not None and old_kind != new_kind:
                tname = table_name(new.name, entity)
                if old_kind:
                    ops.append(SchemaOp("drop_index", entity.name, f.name, f"删除索引 {col}", f"drop index on {col}",
                                        {"index": index_name(tname, col, old_kind)}))
                if new_kind:
                    ops.append(SchemaOp("create_index", entity.name, f.name, f"为 {col} 建立{'唯一' if new_kind == 'unique' else ''}索引",
                                        f"create {new_kind} index on {col}",
                                        {"index": index_name(tname, col, new_kind), "unique": new_kind == "unique"}))
            elif prev is None and new_kind and not f.archived:
                tname = table_name(new.name, entity)
                ops.append(SchemaOp("create_index", entity.name, f.name, f"为 {col} 建立索引", f"create {new_kind} index on {col}",
                                    {"index": index_name(tname, col, new_kind), "unique": new_kind == "unique"}))
    return ops


def _pg() -> sa.Dialect:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()  # type: ignore[no-untyped-call]


def _convert(f: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if f.value_type in ("text", "long_text", "email", "phone", "url", "barcode", "choice", "user") and not isinstance(value, str):
        value = format(value, "f") if hasattr(value, "as_tuple") else str(value)
    return coerce(f, value)


def preview_changes(conn: Connection, old: AppSpec, new: AppSpec, ops: list[SchemaOp],
                    sample_size: int = 5) -> list[TypeChangePreview]:
    """For each type change and each new unique index: how many rows would fail."""
    out: list[TypeChangePreview] = []
    if not any(op.action == "retype_column" or (op.action == "create_index" and op.details.get("unique"))
               for op in ops):
        return out  # nothing to check: skip building the old version's tables
    old_tables = AppTables(old)
    for op in ops:
        if op.action == "retype_column" and op.field:
            entity = new.entity(op.entity)
            assert entity is not None
            f = entity.field(op.field)
            assert f is not None
            table = old_tables(op.entity)
            col = table.c[op.details["old_column"]]
            failing, rows = 0, 0
            samples: list[dict[str, Any]] = []
            for row in conn.execute(sa.select(table.c.id, col).where(col.is_not(None))):
                rows += 1
                try:
                    _convert(f, row[1])
                except (ValueError, TypeError) as exc:
                    failing += 1
                    if len(samples) < sample_size:
                        samples.append({"id": row[0], "value": str(row[1]), "error": str(exc)})
            out.append(TypeChangePreview(op.entity, op.field, op.details["old_type"], op.details["new_type"],
                                         rows, failing, samples))
        elif op.action == "create_index" and op.details.get("unique") and op.field:
            entity = new.entity(op.entity)
            assert entity is not None
            f = entity.field(op.field)
            assert f is not None
            maybe = old_tables.get(op.entity)
            if maybe is None or column_name(f) not in maybe.c:
                continue
            col = maybe.c[column_name(f)]
            dupes = conn.execute(sa.select(col, sa.func.count()).where(col.is_not(None)).group_by(col)
                                 .having(sa.func.count() > 1).limit(sample_size)).all()
            if dupes:
                out.append(TypeChangePreview(op.entity, op.field, "unique", "unique", 0, len(dupes),
                                             [{"value": str(v), "count": c, "error": "duplicate value"} for v, c in dupes]))
    return out


def apply_schema(conn: Connection, old: AppSpec | None, new: AppSpec, ops: list[SchemaOp],
                 conversions: dict[str, dict[str, Any]] | None = None) -> list[TypeChangePreview]:
    """Run ``ops`` on ``conn``. A type change or unique index that would fail on existing
    rows raises a 422 listing counts and samples, unless ``conversions["entity.field"]``
    chooses what to do with them."""
    conversions = conversions or {}
    previews = preview_changes(conn, old, new, ops) if old is not None else []
    problems = [p for p in previews if p.failing and f"{p.entity}.{p.field}" not in conversions]
    unique_dupes = [p for p in previews if p.failing and p.old_type == "unique"]
    if problems or unique_dupes:
        bad = problems + [p for p in unique_dupes if p not in problems]
        raise ValidationError(
            "the change would lose data in existing rows; choose a conversion",
            code="schema.lossy_change",
            errors=[FieldError(f"{p.entity}.{p.field}", "schema.lossy_change",
                               f"{p.failing} of {p.rows} row(s) cannot become {p.new_type}" if p.old_type != "unique"
                               else f"{p.failing} value(s) occur more than once") for p in bad],
            extra={"previews": [p.as_dict() for p in bad]},
        )
    tables = AppTables(new)
    ctx = MigrationContext.configure(conn, opts={"render_as_batch": True})
    operations = Operations(ctx)
    # New tables first, in foreign-key order (PostgreSQL checks a reference when it is
    # created), so columns added to existing tables may link to them.
    created = [tables(op.entity) for op in ops if op.action == "create_table"]
    if created:
        tables.metadata.create_all(conn, tables=created)
    formulas: dict[str, list[str]] = {}
    for op in ops:
        entity = new.entity(op.entity)
        assert entity is not None
        table = tables(op.entity)
        if op.action == "add_column" and op.field and (f := entity.field(op.field)) is not None and f.expression \
                and f.type == "formula":
            formulas.setdefault(entity.name, []).append(f.name)
        if op.action == "create_table":
            continue
        elif op.action == "add_parent_key":
            for col in ("_parent_id", "_idx"):
                operations.add_column(table.name, table.c[col].copy())
        elif op.action == "add_column" and op.field:
            f = entity.field(op.field)
            assert f is not None
            _add_column(operations, conn, new, entity, table, f)
        elif op.action == "retype_column" and op.field:
            f = entity.field(op.field)
            assert f is not None
            _retype(operations, conn, old, entity.name, table, f, op.details["old_column"],
                    conversions.get(f"{entity.name}.{f.name}", {}))
        elif op.action == "drop_index":
            operations.drop_index(op.details["index"], table_name=table.name)
        elif op.action == "create_index" and op.field:
            f = entity.field(op.field)
            assert f is not None
            operations.create_index(op.details["index"], table.name, [column_name(f)], unique=op.details["unique"])
    _backfill_formulas(conn, new, tables, formulas)
    ensure_system_indexes(conn, new, tables)
    return previews


def _backfill_formulas(conn: Connection, app: AppSpec, tables: AppTables, added: dict[str, list[str]]) -> None:
    """Compute the stored formulas added to existing tables for their rows, once every new
    column exists, each after the formulas it reads."""
    from jimu.platform.expressions.deps import recalculation_order
    from jimu.platform.schema.backfill import backfill_formula

    for name, fields in added.items():
        entity = app.entity(name)
        assert entity is not None
        for fname in (n for n in recalculation_order(app, entity) if n in fields):
            f = entity.field(fname)
            assert f is not None
            backfill_formula(conn, tables(name), app, entity, f)


def _add_column(operations: Operations, conn: Connection, app: AppSpec, entity: EntitySpec, table: sa.Table,
                f: FieldSpec) -> None:
    col = table.c[column_name(f)]
    is_literal, value = literal_default(f)
    new_col = sa.Column(col.name, sql_type(f), nullable=True)
    if is_literal and value is not None:
        try:
            stored = _convert(f, value)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"the default of {f.name} is not a valid {f.type}: {exc}",
                                  errors=[FieldError(f.name, "default.invalid", str(exc))]) from None
        if isinstance(stored, Decimal):
            # SQLAlchemy has no literal renderer for Decimal on NUMERIC: an exact numeral is its own SQL.
            bound: Any = format(stored, "f")
        else:
            bound = sa.literal(stored, type_=sql_type(f)).compile(dialect=conn.dialect,
                                                                   compile_kwargs={"literal_binds": True})
        new_col.server_default = sa.DefaultClause(sa.text(str(bound)))
    operations.add_column(table.name, new_col)
    if not is_literal and f.type != "formula":
        from jimu.platform.schema.backfill import backfill_expression_default

        backfill_expression_default(conn, table, app, entity, f)


def _retype(operations: Operations, conn: Connection, old: AppSpec | None, entity_name: str, table: sa.Table,
            f: FieldSpec, old_column: str, conversion: dict[str, Any]) -> None:
    """Add the field's new column and fill it with the converted values of the old one."""
    operations.add_column(table.name, sa.Column(column_name(f), sql_type(f), nullable=True))
    assert old is not None
    old_table = AppTables(old)(entity_name)
    src = old_table.c[old_column]
    values: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(old_table.c.id, src).where(src.is_not(None))):
        try:
            converted = _convert(f, row[1])
        except (ValueError, TypeError):
            mode = conversion.get("on_error", "null")
            converted = _convert(f, conversion.get("value")) if mode == "default" else None
        values.append({"_id": row[0], "_v": converted})
    if values:
        stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values({column_name(f): sa.bindparam("_v")})
        conn.execute(stmt, values)
