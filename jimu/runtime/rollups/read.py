"""Grouped figures read from a rollup instead of a full scan of the entity table.

:func:`grouped_rows` returns exactly the rows the dashboards' scan query returns
(``(group value, aggregate)`` per group, or ``(aggregate,)`` for a KPI), in the same order
(aggregate descending, then group value), or ``None`` when no rollup can answer: the caller
then scans. Filters (the caller's row filters, the view's and the chart's) are the same
expressions compiled against the rollup table, whose dimension columns carry the entity's
column names and types; a filter reading a column the rollup lacks falls back to the scan.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import Env, compile_expression
from jimu.platform.specs import EntitySpec, FieldSpec
from jimu.runtime.rollups.plan import RollupDef
from jimu.runtime.rollups.store import ensure_ready, rollup_table, rollups_of

__all__ = ["grouped_rows", "find_rollup"]


def find_rollup(rt: Any, entity: str, dims: set[str], measure: str | None) -> RollupDef | None:
    """The smallest rollup of ``entity`` with every dimension in ``dims`` and ``measure``."""
    fits = [d for d in rollups_of(rt, entity)
            if dims <= {x.name for x in d.dims} and (measure is None or d.measure(measure) is not None)]
    return min(fits, key=lambda d: len(d.dims), default=None)


def _reads(rt: Any, ent: EntitySpec, source: str, purpose: str) -> set[str]:
    return set(compile_expression(source, rt.spec, ent.name, purpose=purpose).dependencies)


def grouped_rows(policy: Any, ent: EntitySpec, group: FieldSpec | None, measure: FieldSpec | None, agg: str,
                 filters: list[str], limit: int | None) -> list[tuple[Any, ...]] | None:
    """Rows of ``SELECT [group,] agg(measure) ... GROUP BY group ORDER BY agg DESC, group
    LIMIT limit`` over the caller's readable rows matching ``filters``, from a rollup."""
    if agg not in ("sum", "count") or (agg == "sum" and measure is None):
        return None
    rt = policy.rt
    grant = policy.grant(ent.name)
    if not grant.can("read"):
        return None
    row_filters = list(grant.row_filters.get("read") or [])
    try:
        needed = {group.name} if group is not None else set()
        for src in filters:
            needed |= _reads(rt, ent, src, "view_filter")
        for src in row_filters:
            needed |= _reads(rt, ent, src, "row_filter")
        d = find_rollup(rt, ent.name, needed, measure.name if agg == "sum" and measure is not None else None)
        if d is None:
            return None
        t = rollup_table(d)

        def tables(name: str) -> sa.Table:
            return t if name == ent.name else rt.tables(name)

        env = Env(user=policy.actor.username, roles=tuple(policy.actor.roles), user_attrs=dict(policy.actor.attrs))
        where = [compile_expression(src, rt.spec, ent.name, purpose="view_filter").to_sql(tables, env)
                 for src in filters]
        rows = [compile_expression(src, rt.spec, ent.name, purpose="row_filter").to_sql(tables, policy.env)
                for src in row_filters]
    except (ExpressionError, KeyError):
        return None
    if rows:
        where.append(rows[0] if len(rows) == 1 else sa.or_(*rows))
    scale = 0
    if agg == "count":
        value: Any = sa.func.sum(t.c._n)
    else:
        assert measure is not None
        m = d.measure(measure.name)
        assert m is not None
        scale = m.scale
        value = sa.case((sa.func.sum(t.c[f"_c__{m.column}"]) > 0, sa.func.sum(t.c[f"_s__{m.column}"])))
    dim = d.dim(group.name) if group is not None else None
    cols = [t.c[dim.column]] if dim is not None else []
    stmt = sa.select(*cols, value).where(*where)
    if cols:
        stmt = stmt.group_by(cols[0]).having(sa.func.sum(t.c._n) > 0).order_by(value.desc(), cols[0])
        if limit is not None:
            stmt = stmt.limit(limit)
    ensure_ready(policy.jimu.db, rt, d)
    with policy.jimu.db.read() as c:
        result = c.execute(stmt).all()

    def unscale(v: Any) -> Any:
        return None if v is None else (Decimal(int(v)).scaleb(-scale) if scale else int(v))

    return [(*r[:-1], unscale(r[-1])) for r in result]
