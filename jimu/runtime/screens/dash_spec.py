"""The charts of the app's own dashboard specs, computed on the server through the
caller's AccessPolicy and drawn by ECharts.

A chart (``DashboardSpec.charts``) is a dict:

- ``{kind: kpi|bar|pie|line, label, view, measure?, agg?, group_by?, filter?, limit?}``:
  the rows of ``view`` (a report view: entity, filter, ``group_by``, ``aggregates``)
  grouped by ``group_by`` and aggregated (``measure`` with ``agg``, else the view's first
  aggregate, else a row count). A KPI is the aggregate over all the rows. A measure with a
  base-currency field (``options.base_of``, e.g. the orders' ``base_amount`` of ``amount``
  in trading apps) aggregates that one: amounts in several currencies never add up raw.
- ``{kind: table, label, ledger, per?, filter?, limit?}``: balance rows of a ledger, filtered by
  an expression over the dimensions (links, so ``item.safety_stock`` reads the item) and
  the buckets (``on_hand``, ``reserved``, ``in_transit``, ``available``, ...). ``per`` names
  the dimensions to show (``[item, warehouse]``): the rows of the others (batches) are
  summed before the filter, so a used-up batch is not "below safety stock" on its own.
- ``{kind: table, label, view}``: the grouped rows of a view as a table.
- ``{kind: table, label, report: aging, params: {kind: receivable|payable}}``: the aging
  report (:mod:`jimu.runtime.money.report`, with its own rights: left out for a caller
  the report would refuse).
- ``{kind: table|bar, label, report, params?}``: the rows of a named report
  (:mod:`jimu.runtime.reports`, e.g. ``inventory_accuracy``) computed through the
  caller's policy, as a table of its columns or a bar per row.

Rights: only rows inside the caller's row filter count; a chart whose entity the caller
may not read, or whose grouping or measure field is hidden or masked for them, is left
out (an aggregate of a masked field would give the real values away). Ledger rows show
only items/warehouses (any linked dimension) the caller may read, and only the columns
they may see. View and chart filters are part of the spec (like a list view's filter),
not user input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import ExpressionError, JimuError
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.ledger import balances
from jimu.platform.schema import column_name
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.platform.specs.kinds import DashboardSpec, LedgerSpec, ViewSpec
from jimu.runtime.access import AccessPolicy
from jimu.runtime.records.query import filter_clause
from jimu.runtime.rollups.read import grouped_rows
from jimu.runtime.screens.dash_builtin import num_text
from jimu.runtime.screens.fields import _titles, display
from jimu.runtime.screens.i18n import label_text, translate

__all__ = ["spec_dashboard", "spec_chart", "AGGREGATES", "LEDGER_TABLE_LIMIT"]

AGGREGATES = {"sum": sa.func.sum, "avg": sa.func.avg, "min": sa.func.min, "max": sa.func.max,
              "count": sa.func.count}
LEDGER_TABLE_LIMIT = 50
_GROUP_LIMIT = 100
_BUCKETS = ("on_hand", "reserved", "in_transit", "on_order", "quarantine", "available")


def spec_dashboard(policy: AccessPolicy, dash: DashboardSpec, lang: str) -> list[dict[str, Any]]:
    """The charts of ``dash`` the caller may see, in spec order (see :func:`spec_chart`)."""
    out = []
    for i, chart in enumerate(dash.charts):
        drawn = spec_chart(policy, chart, lang)
        if drawn is not None:
            drawn["id"] = f"{dash.name}-{i}"
            out.append(drawn)
    return out


def spec_chart(policy: AccessPolicy, chart: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    """One chart as ``{"kind", "label", "data": [(name, value)...]}`` plus ``"option"``
    (ECharts option JSON: bar/pie/line), ``"value"`` (KPI text) or ``"columns"``,
    ``"rows"`` and ``"num_from"`` (the first numeric column) for a table; ``None`` when the caller may not see it or the spec is broken."""
    kind = str(chart.get("kind") or "bar")
    label = label_text(chart.get("label"), lang, kind)
    try:
        if chart.get("ledger"):
            return _ledger_table(policy, chart, label, lang)
        if chart.get("report") == "aging":
            return _aging_table(policy, chart, label, lang)
        if chart.get("report"):
            return _report_chart(policy, chart, kind, label, lang)
        view = next((v for v in policy.rt.spec.views if v.name == chart.get("view")), None)
        if view is None:
            return None
        return _view_chart(policy, view, chart, kind, label, lang)
    except (ExpressionError, JimuError):
        return None  # a broken chart spec (the health scanner reports it) must not break the page


# Reports ----------------------------------------------------------------------------------
def _report_chart(policy: AccessPolicy, chart: Mapping[str, Any], kind: str, label: str,
                  lang: str) -> dict[str, Any] | None:
    """A named report's rows as a table (its columns) or a bar chart (first column by
    ``value``); None when unknown (the report itself refuses a caller it must not answer)."""
    from jimu.runtime.reports import chart_report

    report = chart_report(str(chart["report"]))
    if report is None:
        return None
    rows = report.run(policy, dict(chart.get("params") or {}))[: int(chart.get("limit") or _GROUP_LIMIT)]

    def cell(key: str, value: Any) -> str:
        if value is None:
            return "—"
        if key in report.percent:
            return f"{(_number(value) * 100).quantize(Decimal('0.01'))}%"
        return num_text(_number(value)) if isinstance(value, int | Decimal) or _numeric(value) else str(value)

    keys = [k for k, _ in report.columns]
    data = [(str(r.get(keys[0]) or "—"), _number(r.get(report.value))) for r in rows]
    out: dict[str, Any] = {"kind": kind, "label": label, "data": data,
                           "measure": label_text(dict(report.columns).get(report.value), lang, report.value)}
    if kind == "table":
        out["columns"] = [label_text(lab, lang, k) for k, lab in report.columns]
        out["rows"] = [[cell(k, r.get(k)) for k in keys] for r in rows]
        out["num_from"] = 1
    else:
        out["option"] = json.dumps(_option(kind, data, out["measure"]), ensure_ascii=False)
    return out


def _numeric(value: Any) -> bool:
    """A decimal given as text (the reports' figures are strings, like the API's)."""
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value).is_finite()
    except ArithmeticError:
        return False


# Views ------------------------------------------------------------------------------------
def _plain(policy: AccessPolicy, entity: str, f: FieldSpec | None) -> bool:
    """The field may be shown as stored: readable and not masked."""
    return f is not None and f.stored and not f.archived and policy.field_rule(entity, f.name).access in ("read",
                                                                                                           "write")


def _measure(policy: AccessPolicy, ent: EntitySpec, view: ViewSpec,
             chart: Mapping[str, Any]) -> tuple[FieldSpec | None, str] | None:
    """(measure field or None for a count, aggregate); None when the measure is not plain."""
    name = chart.get("measure") or next(iter(view.aggregates), None)
    agg = str(chart.get("agg") or (view.aggregates.get(name, "sum") if name else "count")).lower()
    if agg not in AGGREGATES:
        return None
    if not name or agg == "count":
        return None, "count"
    f = ent.summed_field(str(name))  # an order's amount adds up in the base currency
    if not _plain(policy, ent.name, f) or f is None or f.value_type not in ("integer", "decimal", "money", "percent",
                                                                            "duration"):
        return None
    return f, agg


def _number(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _view_chart(policy: AccessPolicy, view: ViewSpec, chart: Mapping[str, Any], kind: str, label: str,
                lang: str) -> dict[str, Any] | None:
    ent = policy.rt.spec.entity(view.entity)
    if ent is None or not policy.can(ent.name, "read"):
        return None
    measure = _measure(policy, ent, view, chart)
    if measure is None:
        return None
    mfield, agg = measure
    table = policy.rt.tables(ent.name)
    value_col = AGGREGATES[agg](table.c[column_name(mfield)] if mfield is not None else table.c.id)
    group_name = None if kind == "kpi" else (chart.get("group_by") or view.group_by)
    gfield = ent.field(str(group_name)) if group_name else None
    if group_name and not _plain(policy, ent.name, gfield):
        return None
    filters = [str(src) for src in (view.filter, chart.get("filter")) if src]
    limit = int(chart.get("limit") or _GROUP_LIMIT)
    result: Any = grouped_rows(policy, ent, gfield, mfield, agg, filters, limit)
    if result is None:  # no rollup answers this chart exactly: scan
        result = _scan(policy, ent, table, gfield, value_col, filters, limit)
    scale = 0 if mfield is None or mfield.value_type in ("integer", "duration") else 2
    measure_label = label_text(mfield.label, lang, mfield.name) if mfield is not None else translate("count", lang)
    if gfield is None:
        total = _number(result[0][-1] if result else None)
        text = display(mfield, total, lang) if mfield is not None else str(int(total))
        return {"kind": "kpi", "label": label, "value": text, "measure": measure_label,
                "data": [(label, _round(total, scale))]}
    titles = {}
    if gfield.type == "link" and gfield.target:
        ids = {int(r[0]) for r in result if r[0] is not None}
        titles = {(gfield.target, str(k)): v for k, v in _titles(policy, gfield.target, ids).items()}
    data = [(display(gfield, r[0], lang, titles) or "—", _round(_number(r[1]), scale)) for r in result]
    out: dict[str, Any] = {"kind": kind, "label": label, "data": data, "measure": measure_label}
    if kind == "table":
        out["columns"] = [label_text(gfield.label, lang, gfield.name), measure_label]
        out["rows"] = [[name, num_text(value)] for name, value in data]
        out["num_from"] = 1
    else:
        out["option"] = json.dumps(_option(kind, data, measure_label), ensure_ascii=False)
    return out


def _scan(policy: AccessPolicy, ent: EntitySpec, table: sa.Table, gfield: FieldSpec | None, value_col: Any,
          filters: list[str], limit: int) -> list[Any]:
    """The chart's rows by a full scan of the entity table (the reference the rollup
    path must equal; used when no rollup answers the chart)."""
    cols = [table.c[column_name(gfield)]] if gfield is not None else []
    stmt = sa.select(*cols, value_col)
    for clause in (policy.row_clause(ent.name), *(filter_clause(policy.rt, ent, src, policy.actor) for src in filters)):
        if clause is not None:
            stmt = stmt.where(clause)
    if gfield is not None:
        stmt = stmt.group_by(cols[0]).order_by(value_col.desc(), cols[0]).limit(limit)
    with policy.jimu.db.read() as c:
        return list(c.execute(stmt).all())


def _round(value: Decimal, scale: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-scale))


def _option(kind: str, data: list[tuple[str, Decimal]], measure: str) -> dict[str, Any]:
    """The ECharts option of a bar, line or pie chart of (name, value) pairs."""
    if kind == "pie":
        return {"tooltip": {"trigger": "item"}, "legend": {"bottom": 0, "type": "scroll"},
                "series": [{"name": measure, "type": "pie", "radius": ["38%", "68%"],
                            "data": [{"name": n, "value": float(v)} for n, v in data],
                            "label": {"formatter": "{b}: {c}"}}]}
    return {"tooltip": {"trigger": "axis"}, "grid": {"left": 56, "right": 16, "top": 24, "bottom": 48},
            "xAxis": {"type": "category", "data": [n for n, _ in data], "axisLabel": {"interval": 0, "rotate": 30}},
            "yAxis": {"type": "value"},
            "series": [{"name": measure, "type": "line" if kind == "line" else "bar",
                        "data": [float(v) for _, v in data]}]}


# Ledger tables ----------------------------------------------------------------------------
def _balance_entity(lg: LedgerSpec) -> EntitySpec:
    """An entity describing one balance row (dimensions + buckets) so a chart filter can
    be type-checked and evaluated like any record expression."""
    fields = [FieldSpec(name=d.name, type="link", options={"entity": d.entity}) if d.entity
              else FieldSpec(name=d.name, type="text") for d in lg.dimensions]
    fields += [FieldSpec(name=b, type="decimal", options={"precision": 18, "scale": 4}) for b in _BUCKETS]
    return EntitySpec(name=f"_balance_{lg.name}", fields=fields)


def _ledger_spec(policy: AccessPolicy, lg: LedgerSpec) -> Any:
    """The published app spec plus the balance-row entity (built once per published spec)."""
    cache: dict[str, Any] = policy.rt.__dict__.setdefault("_jimu_balance_specs", {})
    hit = cache.get(lg.name)
    if hit is None:
        spec = policy.rt.spec
        hit = cache[lg.name] = spec.model_copy(update={"entities": [*spec.entities, _balance_entity(lg)]})
    return hit


def _ledger_table(policy: AccessPolicy, chart: Mapping[str, Any], label: str, lang: str) -> dict[str, Any] | None:
    lg = policy.rt.spec.ledger(str(chart["ledger"]))
    if lg is None:
        return None
    dims = _table_dims(lg, chart.get("per"))
    linked = {d.name: d.entity for d in dims if d.entity}
    if any(not policy.can(e, "read") for e in linked.values()):
        return None
    with policy.jimu.db.read() as c:
        rows = balances(c, policy.app, lg)
    if len(dims) < len(lg.dimensions):
        rows = _summed(rows, [d.name for d in dims])
    titles = {name: _titles(policy, target, {int(r[name]) for r in rows if str(r.get(name)).isdigit()})
              for name, target in linked.items()}
    rows = [r for r in rows if all(str(r.get(n)).isdigit() and int(r[n]) in titles[n] for n in linked)]
    if chart.get("filter"):
        rows = _filtered(policy, lg, str(chart["filter"]), rows, linked)
    limit = int(chart.get("limit") or LEDGER_TABLE_LIMIT)
    columns = [label_text(_dim_label(policy, d.entity), lang, d.name) for d in dims]
    columns += [translate(b, lang) for b in ("on_hand", "reserved", "available")]
    table = [[titles[d.name][int(r[d.name])] if d.name in linked else str(r.get(d.name) or "")
              for d in dims] + [num_text(_number(r.get(b))) for b in ("on_hand", "reserved", "available")]
             for r in rows[:limit]]
    return {"kind": "table", "label": label, "columns": columns, "rows": table, "total": len(rows),
            "num_from": len(dims),
            "data": [(" / ".join(row[:len(dims)]), _number(r.get("available")))
                     for row, r in zip(table, rows, strict=False)]}


def _table_dims(lg: LedgerSpec, per: Any) -> list[Any]:
    """The dimensions a ledger table shows: all of them, or those named in ``per`` that the
    ledger has (``per: [item, warehouse]`` on a ledger with a batch dimension sums the
    batches of each item and warehouse; on a ledger without one it changes nothing)."""
    if not per:
        return list(lg.dimensions)
    wanted = {str(p) for p in (per if isinstance(per, list | tuple) else [per])}
    kept = [d for d in lg.dimensions if d.name in wanted]
    return kept or list(lg.dimensions)


def _summed(rows: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """Balance rows added up per value of ``names`` (every bucket summed), in first-seen order."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = tuple(r.get(n) for n in names)
        acc = out.get(key)
        if acc is None:
            out[key] = {**{n: r.get(n) for n in names}, **{b: r.get(b) or Decimal(0) for b in _BUCKETS}}
        else:
            for b in _BUCKETS:
                acc[b] = acc[b] + (r.get(b) or Decimal(0))
    return list(out.values())


def _aging_table(policy: AccessPolicy, chart: Mapping[str, Any], label: str, lang: str) -> dict[str, Any] | None:
    from jimu.runtime.money.report import aging_report, may_see_aging

    kind = str((chart.get("params") or {}).get("kind") or "receivable")
    if not may_see_aging(policy, kind):
        return None
    report = aging_report(policy, kind)
    names = {"receivable": ("客户", "Customer"), "payable": ("供应商", "Supplier"), "total": ("合计", "Total")}
    pick = 1 if lang == "en" else 0
    columns = [names[kind][pick], *report["buckets"], names["total"][pick]]
    rows = [[r.get("partner_name") or f"#{r['partner']}", *(r[b] for b in report["buckets"]), r["total"]]
            for r in report["data"]]
    return {"kind": "table", "label": label, "columns": columns, "rows": rows, "total": len(rows), "num_from": 1,
            "data": [(row[0], _number(r["total"])) for row, r in zip(rows, report["data"], strict=True)]}


def _dim_label(policy: AccessPolicy, entity: str | None) -> Any:
    ent = policy.rt.spec.entity(entity) if entity else None
    return ent.label if ent is not None else None


def _filtered(policy: AccessPolicy, lg: LedgerSpec, source: str, rows: list[dict[str, Any]],
              linked: Mapping[str, str]) -> list[dict[str, Any]]:
    spec = _ledger_spec(policy, lg)
    compiled = compile_expression(source, spec, f"_balance_{lg.name}", purpose="view_filter")
    records: dict[tuple[str, int], Mapping[str, Any]] = {}
    for name, target in linked.items():
        ids = sorted({int(r[name]) for r in rows})
        for i in range(0, len(ids), 500):
            page = policy.jimu.records.list(policy.app, target, where=sa.and_(
                policy.rt.tables(target).c.id.in_(ids[i:i + 500])), limit=500, actor=policy.actor).data
            records.update({(target, int(rec["id"])): rec for rec in page})

    def lookup(entity: str, rid: Any) -> Mapping[str, Any] | None:
        return records.get((entity, int(rid))) if str(rid).isdigit() else None

    env = Env(user=policy.actor.username, roles=tuple(policy.actor.roles), user_attrs=dict(policy.actor.attrs),
              lookup=lookup)
    out = []
    for r in rows:
        record = {**r, **{n: int(r[n]) for n in linked}}
        try:
            if compiled.test(record, env):
                out.append(r)
        except ExpressionError:
            continue
    return out
