"""Which rollups an app needs: derived from its published spec, never configured.

A rollup is a summary table of one entity: one row per distinct combination of its
*dimension* columns with the row count and, per measured numeric field, the sum (scaled to
an integer, so it is exact on SQLite too) and the count of non-NULL values. A dashboard
chart over a report view reads its rollup instead of scanning the entity table. The
dimensions of a chart's rollup are every field the chart needs to group and filter by:
the grouping field, the fields its view and chart filters read, and the fields the roles'
row filters on that entity read (so a caller with a row filter is served from the rollup
too). A workflow's state field gets a count-only rollup (orders by state).

Charts a rollup cannot answer exactly keep the full scan: ``avg``/``min``/``max``
measures, child entities (their rows change through the parent), and filters that read
the row id or a non-stored field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import compile_expression
from jimu.platform.schema import column_name
from jimu.platform.schema.columns import SYSTEM_COLUMN_TYPES, sql_type, table_name
from jimu.platform.specs import AppSpec, EntitySpec

__all__ = ["Dim", "Measure", "RollupDef", "plan_rollups", "chart_needs", "MEASURED_TYPES", "ROLLUP_AGGS"]

MEASURED_TYPES = ("integer", "decimal", "money", "percent", "duration")
#: Aggregates a rollup answers exactly (a deleted row can be taken out of a sum or a
#: count, not out of a min or a max).
ROLLUP_AGGS = ("sum", "count")


@dataclass(frozen=True)
class Dim:
    """A dimension: a field (or system column) of the entity, kept with its column type."""

    name: str
    column: str
    type: Any  # SQLAlchemy type of the entity column


@dataclass(frozen=True)
class Measure:
    """A summed field: ``s_<column>`` holds the sum × 10^scale, ``c_<column>`` the count of
    non-NULL values (a sum over only NULLs is NULL, as in SQL)."""

    name: str
    column: str
    scale: int


@dataclass(frozen=True)
class RollupDef:
    app: str
    entity: str
    base_table: str
    dims: tuple[Dim, ...]
    measures: tuple[Measure, ...]
    name: str  # the rollup table: jimu_rollup__<hash of app, entity, dims, measures, types>

    def dim(self, name: str) -> Dim | None:
        return next((d for d in self.dims if d.name == name), None)

    def measure(self, name: str) -> Measure | None:
        return next((m for m in self.measures if m.name == name), None)


def _dim(ent: EntitySpec, name: str) -> Dim | None:
    f = ent.field(name)
    if f is not None:
        if not f.stored or f.archived or f.type in ("child_table", "json", "multi_choice", "geo"):
            return None
        return Dim(f.name, column_name(f), sql_type(f))
    if name in SYSTEM_COLUMN_TYPES and name != "version":
        t = SYSTEM_COLUMN_TYPES[name]
        return Dim(name, name, t() if isinstance(t, type) else t)
    return None


def _reads(spec: AppSpec, ent: EntitySpec, source: str | None, purpose: str) -> set[str] | None:
    """The fields of ``ent`` an expression reads (None when it does not compile)."""
    if not source:
        return set()
    try:
        return set(compile_expression(source, spec, ent.name, purpose=purpose).dependencies)
    except ExpressionError:
        return None


def _row_filter_fields(spec: AppSpec, ent: EntitySpec) -> set[str] | None:
    out: set[str] = set()
    for role in spec.roles:
        rights = role.rights(ent.name)
        if rights is not None and rights.row_filter:
            got = _reads(spec, ent, rights.row_filter, "row_filter")
            if got is None:
                return None
            out |= got
    return out


def chart_needs(spec: AppSpec, chart: Mapping[str, Any]) -> tuple[EntitySpec, set[str], str | None] | None:
    """(entity, dimension field names, measured field or None for a count) a view chart
    needs from a rollup; None when no rollup can answer it exactly."""
    if chart.get("ledger"):
        return None
    view = next((v for v in spec.views if v.name == chart.get("view")), None)
    ent = spec.entity(view.entity) if view is not None else None
    if view is None or ent is None or spec.parent_of(ent.name) is not None:
        return None
    kind = str(chart.get("kind") or "bar")
    name = chart.get("measure") or next(iter(view.aggregates), None)
    agg = str(chart.get("agg") or (view.aggregates.get(name, "sum") if name else "count")).lower()
    if agg not in ROLLUP_AGGS:
        return None
    measure = None
    if name and agg != "count":
        f = ent.summed_field(str(name))  # the base-currency field, as the chart sums it
        if f is None or not f.stored or f.value_type not in MEASURED_TYPES:
            return None
        measure = f.name
    dims: set[str] = set()
    group = None if kind == "kpi" else (chart.get("group_by") or view.group_by)
    if group:
        dims.add(str(group))
    for src, purpose in ((view.filter, "view_filter"), (chart.get("filter"), "view_filter")):
        got = _reads(spec, ent, src, purpose)
        if got is None:
            return None
        dims |= got
    rows = _row_filter_fields(spec, ent)
    if rows is None:
        return None
    return ent, dims | rows, measure


def _scale(spec_field: Any) -> int:
    if spec_field.value_type in ("integer", "duration"):
        return 0
    t = sql_type(spec_field)
    return int(getattr(t, "scale", 2) or 0)


def _make(spec: AppSpec, ent: EntitySpec, dims: frozenset[str], measures: set[str]) -> RollupDef | None:
    dim_objs = []
    for n in sorted(dims):
        d = _dim(ent, n)
        if d is None:
            return None
        dim_objs.append(d)
    ms = []
    for n in sorted(measures):
        f = ent.field(n)
        assert f is not None
        ms.append(Measure(f.name, column_name(f), _scale(f)))
    base = table_name(spec.name, ent)
    ident = repr((spec.name, ent.name, base, [(d.name, d.column, repr(d.type)) for d in dim_objs],
                  [(m.name, m.column, m.scale) for m in ms]))
    name = "jimu_rollup__" + hashlib.sha1(ident.encode()).hexdigest()[:16]
    return RollupDef(spec.name, ent.name, base, tuple(dim_objs), tuple(ms), name)


def plan_rollups(spec: AppSpec) -> tuple[RollupDef, ...]:
    """Every rollup ``spec`` needs: one per (entity, dimension set), measures merged."""
    wanted: dict[tuple[str, frozenset[str]], set[str]] = {}
    for dash in spec.dashboards:
        for chart in dash.charts:
            need = chart_needs(spec, chart)
            if need is None:
                continue
            ent, dims, measure = need
            wanted.setdefault((ent.name, frozenset(dims)), set()).update([measure] if measure else [])
    for wf in spec.workflows:
        went = spec.entity(wf.entity)
        if went is None or spec.parent_of(went.name) is not None or went.field(wf.state_field) is None:
            continue
        rows = _row_filter_fields(spec, went)
        if rows is not None:
            wanted.setdefault((went.name, frozenset({wf.state_field, *rows})), set())
    out = []
    for (entity, dim_names), measures in sorted(wanted.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))):
        rent = spec.entity(entity)
        assert rent is not None
        made = _make(spec, rent, dim_names, measures)
        if made is not None:
            out.append(made)
    return tuple(out)
