"""PF: performance — list views filtering or sorting on unindexed fields, per-row lookups
over big tables, very wide entities."""

from __future__ import annotations

import re

from jimu.platform.health.model import Hit, Rule, ScanContext
from jimu.platform.health.rules._util import expr_functions, formula_fields
from jimu.platform.health.rules.dm import _indexed, add_index_fix, unindexed

__all__ = ["RULES", "BIG_TABLE", "INDEX_WORTHY_ROWS", "WIDE_ENTITY"]

INDEX_WORTHY_ROWS = 10_000  # with fewer rows (when stats say so) a scan is cheap
BIG_TABLE = 100_000
WIDE_ENTITY = 150
_AGGREGATES = frozenset({"LOOKUP", "COUNT", "SUM", "AVG", "MIN", "MAX"})


def _worth(ctx: ScanContext, entity: str) -> bool:
    rows = ctx.rows(entity)
    return rows is None or rows >= INDEX_WORTHY_ROWS


def check_view_filter(ctx: ScanContext) -> list[Hit]:
    hits, seen = [], set()
    for view in ctx.app.views:
        if view.kind != "list" or not view.filter or not _worth(ctx, view.entity):
            continue
        for name in unindexed(ctx, view.entity, view.filter):
            if (view.entity, name) not in seen:
                seen.add((view.entity, name))
                hits.append(Hit(f"field:{view.entity}.{name}", f"entities.{view.entity}.fields.{name}",
                                f"list view '{view.name}' filters on '{view.entity}.{name}', which has no index"))
    return hits


def check_view_sort(ctx: ScanContext) -> list[Hit]:
    hits, seen = [], set()
    for view in ctx.app.views:
        if view.kind != "list" or not _worth(ctx, view.entity):
            continue
        for key in view.sort:
            name = key.lstrip("-+")
            if not _indexed(ctx, view.entity, name) and (view.entity, name) not in seen:
                seen.add((view.entity, name))
                hits.append(Hit(f"field:{view.entity}.{name}", f"entities.{view.entity}.fields.{name}",
                                f"list view '{view.name}' sorts on '{view.entity}.{name}', which has no index"))
    return hits


def check_row_lookups(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        for f in formula_fields(ent):
            source = f.expression or ""
            if not expr_functions(source) & _AGGREGATES:
                continue
            words = set(re.findall(r"[a-z_][a-z0-9_]*", source))
            big = [n for n in sorted(words | {ent.name}) if n in ctx.entities and (ctx.rows(n) or 0) >= BIG_TABLE]
            if big:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}.options.expression",
                                f"formula '{ent.name}.{f.name}' aggregates per row over big table(s) "
                                f"{', '.join(big)} ({max(ctx.rows(n) or 0 for n in big)} rows)"))
    return hits


def check_wide_entity(ctx: ScanContext) -> list[Hit]:
    return [Hit(f"entity:{e.name}", f"entities.{e.name}",
                f"entity '{e.name}' has {len(e.active_fields)} fields (over {WIDE_ENTITY})")
            for e in ctx.entities.values() if len(e.active_fields) > WIDE_ENTITY]


RULES = [
    Rule("PF-01", "PF", "medium", "列表过滤字段无索引", "List view filters on unindexed field", check_view_filter,
         "Index the field (a schema change with no data loss).", add_index_fix),
    Rule("PF-02", "PF", "low", "列表排序字段无索引", "List view sorts on unindexed field", check_view_sort,
         "Index the field used for sorting.", add_index_fix),
    Rule("PF-03", "PF", "medium", "公式逐行聚合大表", "Per-row aggregate over a big table", check_row_lookups,
         "Store the aggregate on the parent and update it by automation, or compute it in a report."),
    Rule("PF-04", "PF", "low", "实体字段过多", "Very wide entity", check_wide_entity,
         "Split rarely used fields into a child or linked entity."),
]
