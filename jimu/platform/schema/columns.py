"""From field specs to SQL columns: one typed column per field (DESIGN section 2)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from jimu.platform.db import DecimalType, TZDateTime
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec

__all__ = ["table_name", "column_name", "field_index_kind", "index_name", "sql_type", "build_table", "AppTables",
           "SYSTEM_COLUMN_TYPES", "system_indexes", "row_filter_fields"]

SYSTEM_COLUMN_TYPES: dict[str, Any] = {
    "version": sa.Integer,
    "created_at": TZDateTime,
    "updated_at": TZDateTime,
    "created_by": sa.String(150),
    "updated_by": sa.String(150),
}


def table_name(app: str, entity: EntitySpec) -> str:
    """``app_<app>__<entity>``, fixed when the entity is first published."""
    return entity.table or f"app_{app}__{entity.name}"


def column_name(field: FieldSpec) -> str:
    """The physical column of a field (kept across renames)."""
    return field.column or field.name


def sql_type(field: FieldSpec, value_type: str | None = None) -> sa.types.TypeEngine[Any]:
    """The SQL type storing ``field`` (a formula stores its result type)."""
    t = value_type or field.value_type
    opts = field.options
    if t in ("text", "email", "phone", "url", "barcode", "choice"):
        return sa.String(int(opts.get("max_length", 255)))
    if t in ("long_text",):
        return sa.Text()
    if t in ("integer", "duration"):
        return sa.BigInteger()
    if t in ("decimal", "money", "percent"):
        return DecimalType(int(opts.get("precision", 18)), int(opts.get("scale", 4 if t == "decimal" else 2)))
    if t == "boolean":
        return sa.Boolean()
    if t == "date":
        return sa.Date()
    if t == "datetime":
        return TZDateTime()
    if t == "link":
        return sa.Integer()
    if t in ("user", "auto_number"):
        return sa.String(150)
    if t in ("attachment", "image"):
        return sa.String(1024)
    if t in ("multi_choice", "geo", "json"):
        return sa.JSON()
    raise ValueError(f"field type {t!r} has no column")


def build_table(app: AppSpec, entity: EntitySpec, metadata: sa.MetaData) -> sa.Table:
    """The SQLAlchemy table of ``entity``: system columns, one column per stored field
    (archived ones included: their data is kept), a parent key for child entities."""
    cols: list[Any] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TZDateTime, nullable=False),
        sa.Column("updated_at", TZDateTime, nullable=False),
        sa.Column("created_by", sa.String(150)),
        sa.Column("updated_by", sa.String(150)),
    ]
    parent = app.parent_of(entity.name)
    if parent is not None:
        parent_table = table_name(app.name, parent[0])
        cols.append(sa.Column("_parent_id", sa.Integer, sa.ForeignKey(f"{parent_table}.id", ondelete="CASCADE"),
                              index=True))
        cols.append(sa.Column("_idx", sa.Integer, nullable=False, server_default="0"))
    for f in entity.fields:
        if not f.stored:
            continue
        kwargs: dict[str, Any] = {"nullable": True}
        args: list[Any] = []
        if (f.type == "link" and f.target and app.entity(f.target) is not None and not f.archived
                and f.options.get("db_constraint", True) is not False):
            target = app.entity(f.target)
            assert target is not None
            on_delete = str(f.options.get("on_delete", "restrict")).upper().replace("_", " ")
            on_delete = {"RESTRICT": "RESTRICT", "CASCADE": "CASCADE", "SET NULL": "SET NULL"}.get(on_delete, "RESTRICT")
            args.append(sa.ForeignKey(f"{table_name(app.name, target)}.id", ondelete=on_delete))
        cols.append(sa.Column(column_name(f), sql_type(f), *args, **kwargs))
    tname = table_name(app.name, entity)
    for f in entity.fields:
        kind = field_index_kind(f)
        if kind:
            cols.append(sa.Index(index_name(tname, column_name(f), kind), column_name(f), unique=kind == "unique"))
    for name, system_cols in system_indexes(app, entity, tname):
        cols.append(sa.Index(name, *system_cols))
    for i, group in enumerate(entity.unique_together):
        names = [_col_for(entity, n) for n in group]
        cols.append(sa.UniqueConstraint(*names, name=f"uq_{tname}_{i}"[:63]))
    for i, group in enumerate(entity.indexes):
        names = [_col_for(entity, n) for n in group]
        cols.append(sa.Index(f"ix_{tname}_{i}"[:63], *names))
    return sa.Table(tname, metadata, *cols)


def system_indexes(app: AppSpec, entity: EntitySpec, tname: str) -> list[tuple[str, tuple[str, ...]]]:
    """(name, columns) of the indexes every generated table gets for the system sorts and
    filters: ``created_at`` and ``updated_at`` (the contract's default sort is
    ``-created_at``), and the workflow's state field. Each ends in ``id`` because a list
    orders by ``(column, id)`` and continues a cursor from the last ``(column, id)`` pair
    (:mod:`jimu.runtime.records.query`), so the index serves the whole ORDER BY and the
    cursor's range without a sort step; a filter on the state then walks its rows
    already in ``created_at`` order. Link fields get their index from
    :func:`field_index_kind`. The names start with ``ix_<table>___`` (three underscores):
    a field's column starts with a letter, so no field index can take them."""
    out: list[tuple[str, tuple[str, ...]]] = [
        (index_name(tname, "_created_at", "index"), ("created_at", "id")),
        (index_name(tname, "_updated_at", "index"), ("updated_at", "id")),
    ]
    wf = app.workflow_for(entity.name)
    state = entity.field(wf.state_field) if wf is not None else None
    if state is not None and state.stored and not state.archived:
        col = column_name(state)
        out.append((index_name(tname, f"_state_{col}", "index"), (col, "created_at", "id")))
    seen = {cols for _name, cols in out}
    for f in row_filter_fields(app, entity):
        cols = (column_name(f), "created_at", "id")
        if cols not in seen:
            seen.add(cols)
            out.append((index_name(tname, f"_rf_{column_name(f)}", "index"), cols))
    return out


_UNINDEXABLE = frozenset({"json", "multi_choice", "geo"})


def row_filter_fields(app: AppSpec, entity: EntitySpec) -> list[FieldSpec]:
    """The stored fields of ``entity`` that a role's row filter pins with an equality at
    its top level (``owner == $user``, ``$user == owner``, ``region == "north" and ...``),
    in role order. Such a caller's every list is ``WHERE field = ? ORDER BY created_at,
    id`` (the default sort): an index ``(field, created_at, id)`` serves it without a
    sort, where the field's own index leaves the planner sorting all of the caller's rows
    (SQLite, without statistics, picks that plan: 4 ms a page at 1,600 rows)."""
    from jimu.core.errors import ExpressionError
    from jimu.platform.expressions.nodes import walk
    from jimu.platform.expressions.parser import parse

    found: dict[str, FieldSpec] = {}
    for role in app.roles:
        rights = role.rights(entity.name)
        if rights is None or not rights.row_filter:
            continue
        try:
            root = parse(rights.row_filter).root
        except ExpressionError:
            continue  # a bad filter is the spec validator's business; it gets no index
        terms = [root]
        while terms:
            node = terms.pop()
            if node.kind == "bool" and node.op == "and":
                terms.extend(node.args)
                continue
            if node.kind != "cmp" or node.op != "==" or len(node.args) != 2:
                continue
            fields = [a for a in node.args if a.kind == "name" and not a.op]
            other = node.args[1] if fields and fields[0] is node.args[0] else node.args[0]
            if len(fields) != 1 or any(n.kind == "name" and not n.op for n in walk(other)):
                continue  # the other side reads the row too: no index seek
            f = entity.field(str(fields[0].value))
            if f is not None and f.stored and not f.archived and f.type not in _UNINDEXABLE:
                found.setdefault(f.name, f)
    return list(found.values())


def field_index_kind(field: FieldSpec) -> str | None:
    """'unique', 'index' or None: the single-column index a field gets."""
    if not field.stored or field.archived:
        return None
    if field.unique or field.type == "auto_number":
        return "unique"
    if field.indexed or field.type == "link":
        return "index"
    return None


def index_name(table: str, column: str, kind: str) -> str:
    """Deterministic index names, so schema evolution can find and drop them."""
    prefix = "uq" if kind == "unique" else "ix"
    name = f"{prefix}_{table}__{column}"
    if len(name) > 63:
        import hashlib

        name = name[:52] + "_" + hashlib.sha1(name.encode()).hexdigest()[:10]
    return name


def _col_for(entity: EntitySpec, name: str) -> str:
    f = entity.field(name)
    return column_name(f) if f else name


class AppTables:
    """The tables of one published app spec, built once and looked up by entity name."""

    def __init__(self, app: AppSpec) -> None:
        self.app = app
        self.metadata = sa.MetaData()
        self._tables: dict[str, sa.Table] = {}
        # Parents before children so foreign keys resolve in create_all order.
        for entity in app.entities:
            self._tables[entity.name] = build_table(app, entity, self.metadata)

    def __call__(self, entity: str) -> sa.Table:
        return self._tables[entity]

    def get(self, entity: str) -> sa.Table | None:
        return self._tables.get(entity)

    def items(self) -> list[tuple[str, sa.Table]]:
        return list(self._tables.items())
