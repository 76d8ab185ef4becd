"""DM: data model — duplicate and redundant fields, unused fields, missing indexes on
filtered fields, links without a delete behaviour."""

from __future__ import annotations

import re

from jimu.platform.health.model import Fix, Hit, Rule, ScanContext
from jimu.platform.health.rules._util import copy_app, expr_identifiers, formula_fields, label_text
from jimu.platform.specs import AppSpec, FieldSpec

__all__ = ["RULES", "SYNONYMS", "add_index_fix"]

# Groups of label/name words that mean the same thing.
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"单价", "价格", "售价", "price", "unit_price"}),
    frozenset({"数量", "数目", "件数", "qty", "quantity"}),
    frozenset({"金额", "总额", "总价", "amount", "total"}),
    frozenset({"备注", "说明", "remark", "note", "notes", "memo"}),
    frozenset({"电话", "手机", "联系电话", "phone", "mobile", "tel"}),
    frozenset({"地址", "住址", "address", "addr"}),
)


def _norm_expr(source: str) -> str:
    return re.sub(r"\s+", "", source)


def check_duplicate_formulas(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        seen: dict[str, str] = {}
        for f in formula_fields(ent):
            key = _norm_expr(f.expression or "")
            if key in seen:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}",
                                f"'{ent.name}.{f.name}' repeats the formula of '{seen[key]}'"))
            else:
                seen[key] = f.name
    return hits


def _synonym_group(name: str, zh: str, en: str) -> int | None:
    keys = {name.lower(), zh.strip(), en.strip().lower().replace(" ", "_")}
    for i, group in enumerate(SYNONYMS):
        if keys & group:
            return i
    return None


def check_synonym_fields(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        seen: dict[int, str] = {}
        for f in ent.active_fields:
            if f.type in ("link", "child_table", "formula"):
                continue
            group = _synonym_group(f.name, f.label.zh, f.label.en)
            if group is None:
                continue
            if group in seen:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}",
                                f"'{ent.name}.{f.name}' ({f.label}) duplicates '{seen[group]}': same meaning"))
            else:
                seen[group] = f.name
    return hits


def check_unused_fields(ctx: ScanContext) -> list[Hit]:
    writes = ctx.stats.get("field_writes") or {}
    hits = []
    for ent, f in ctx.fields():
        key = f"{ent.name}.{f.name}"
        rows = ctx.rows(ent.name) or 0
        if key in writes and int(writes[key]) == 0 and rows > 0 and f.type not in ("formula", "auto_number"):
            hits.append(Hit(f"field:{key}", f"entities.{ent.name}.fields.{f.name}",
                            f"'{key}' was never written in {rows} records"))
    return hits


def _indexed(ctx: ScanContext, entity: str, field: str) -> bool:
    ent = ctx.entities.get(entity)
    if ent is None or field in ("id", "created_at", "updated_at"):
        return True
    f = ent.field(field)
    if f is None:
        return True  # unknown names are the validator's business
    if f.indexed or f.unique or f.type in ("link", "auto_number"):
        return True
    return any(idx and idx[0] == field for idx in ent.indexes + ent.unique_together)


def unindexed(ctx: ScanContext, entity: str, source: str) -> list[str]:
    """Stored fields of ``entity`` referenced by ``source`` that no index leads with."""
    ent = ctx.entities.get(entity)
    if ent is None:
        return []
    out = []
    for name in sorted(expr_identifiers(source)):
        f = ent.field(name)
        if f is not None and f.stored and f.type != "formula" and not _indexed(ctx, entity, name):
            out.append(name)
    return out


def check_row_filter_index(ctx: ScanContext) -> list[Hit]:
    hits = []
    for role in ctx.app.roles:
        for ename, rights in role.entities.items():
            if not rights.row_filter:
                continue
            for name in unindexed(ctx, ename, rights.row_filter):
                hits.append(Hit(f"field:{ename}.{name}", f"entities.{ename}.fields.{name}",
                                f"'{ename}.{name}' filters rows for role '{role.name}' but has no index"))
    return _dedupe(hits)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    seen: set[str] = set()
    out = []
    for h in hits:
        if h.path not in seen:
            seen.add(h.path)
            out.append(h)
    return out


def _hit_fields(app: AppSpec, hits: list[Hit]) -> list[FieldSpec]:
    """The fields of ``app`` that ``field:entity.name`` hits point at (missing ones skipped)."""
    out = []
    for h in hits:
        ename, _, fname = h.element.partition(":")[2].partition(".")
        ent = app.entity(ename)
        f = ent.field(fname) if ent else None
        if f is not None:
            out.append(f)
    return out


def _apply_index(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for f in _hit_fields(new, hits):
        f.indexed = True
    return new


add_index_fix = Fix(lambda hits: [f"add an index on {h.element.partition(':')[2]}" for h in hits], _apply_index)


def check_link_on_delete(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent, f in ctx.fields():
        if f.type == "link" and not f.options.get("on_delete"):
            hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}",
                            f"link '{ent.name}.{f.name}' → '{f.target}' has no delete behaviour (options.on_delete)"))
    return hits


def _apply_restrict(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for f in _hit_fields(new, hits):
        f.options["on_delete"] = "restrict"
    return new


_MONEY_WORDS = ("price", "amount", "cost", "金额", "单价", "价格", "成本")


def check_money_type(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent, f in ctx.fields():
        text = f"{f.name} {label_text(f.label)}"
        if f.type in ("text", "integer") and any(w in text for w in _MONEY_WORDS):
            hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}",
                            f"'{ent.name}.{f.name}' holds money but is typed {f.type}"))
    return hits


RULES = [
    Rule("DM-01", "DM", "medium", "重复公式字段", "Duplicate formula field", check_duplicate_formulas,
         "Keep one formula field and point views and forms at it."),
    Rule("DM-02", "DM", "low", "同义冗余字段", "Redundant synonym fields", check_synonym_fields,
         "Merge the two fields (e.g. 单价/价格) so users do not fill in both."),
    Rule("DM-03", "DM", "low", "从未使用的字段", "Field never written", check_unused_fields,
         "Archive the field (its data is kept) or remove it from forms."),
    Rule("DM-04", "DM", "medium", "行过滤字段缺少索引", "Row-filter field without index", check_row_filter_index,
         "Index the field: every read by the role filters on it.", add_index_fix),
    Rule("DM-05", "DM", "medium", "关联字段未设置删除行为", "Link without delete behaviour", check_link_on_delete,
         "Set options.on_delete (restrict, set_null or cascade).",
         Fix(lambda hits: [f"set options.on_delete = 'restrict' on {h.element.partition(':')[2]}" for h in hits],
             _apply_restrict)),
    Rule("DM-06", "DM", "medium", "金额字段类型不当", "Money held in a text/integer field", check_money_type,
         "Change the field to money (or decimal) with an explicit conversion."),
]
