"""DF: domain fit — a capability unit used for a purpose outside its domain, and template
parameters that contradict the industry."""

from __future__ import annotations

from jimu.platform.health.model import CbuManifestInfo, Fix, Hit, Rule, ScanContext
from jimu.platform.health.rules._util import NEUTRAL_FAMILIES, copy_app, families_of, words_of
from jimu.platform.specs import AppSpec, EntitySpec

__all__ = ["RULES"]

BATCH_INDUSTRIES = frozenset({"food", "catering"})


# What each domain family is about, in plain words (zh, en), for the findings' last sentence.
_PLAIN: dict[str, tuple[str, str]] = {
    "supply_chain": ("供应商与采购", "suppliers and purchasing"),
    "hr": ("员工考核与人事", "employee reviews and HR"),
    "sales": ("客户与销售", "customers and sales"),
    "finance": ("发票与收付款", "invoices and payments"),
    "production": ("生产", "production"),
}


def plain_words(cbu: CbuManifestInfo, foreign: set[str]) -> str:
    """One sentence a non-specialist reads: which unit, made for what, used for what
    (e.g. the supplier scorecard applied to employee reviews)."""
    own = sorted(f for f in cbu.families if f in _PLAIN)
    other = sorted(f for f in foreign if f in _PLAIN)
    if not own or not other:
        return ""
    title = cbu.title or cbu.name
    return (f" In plain words: {cbu.name} is made for {' / '.join(_PLAIN[f][1] for f in own)} but is being used "
            f"for {' / '.join(_PLAIN[f][1] for f in other)}; its rules, rights and figures do not fit that "
            f"(通俗地说:{title}是给{'、'.join(_PLAIN[f][0] for f in own)}用的,现在被拿来做"
            f"{'、'.join(_PLAIN[f][0] for f in other)},它的规则、权限和指标都不适用)")


def _owned_entities(ctx: ScanContext) -> list[tuple[EntitySpec, CbuManifestInfo]]:
    out = []
    for ent in ctx.entities.values():
        cbu = ctx.owner_cbu(f"entity:{ent.name}")
        if cbu is not None and cbu.domains:
            out.append((ent, cbu))
    return out


def _foreign(cbu: CbuManifestInfo, words: set[str]) -> set[str]:
    """Families of ``words`` that are neither the unit's own nor neutral."""
    fams = families_of(words, ignore=cbu.keywords)
    return fams - cbu.families - NEUTRAL_FAMILIES


def _entity_families(ctx: ScanContext, name: str) -> set[str]:
    ent = ctx.entities.get(name)
    owner = ctx.owner_cbu(f"entity:{name}")
    if owner is not None and owner.domains:
        return set(owner.families)
    return families_of(words_of(name, ent.label if ent else None))


def check_foreign_links(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent, owner in _owned_entities(ctx):
        for f in ent.active_fields:
            target = f.target if f.type in ("link", "child_table") else None
            # A field another unit adds through ``extends`` (e.g. manufacturing's
            # item.default_supplier) is judged by that unit's domains, not the entity's.
            by = ctx.owner_cbu(f"field:{ent.name}.{f.name}")
            cbu = by if by is not None and by.domains else owner
            if not target or target in cbu.entities:
                continue
            foreign = _entity_families(ctx, target) - cbu.families - NEUTRAL_FAMILIES
            if foreign:
                hits.append(Hit(
                    f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}",
                    f"'{ent.name}.{f.name}' of CBU {cbu.name} ({', '.join(cbu.domains)}) links to "
                    f"'{target}' records of domain {', '.join(sorted(foreign))}." + plain_words(cbu, foreign)))
    return hits


def check_foreign_labels(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent, cbu in _owned_entities(ctx):
        words = words_of(ent.name, ent.label)
        for f in ent.active_fields:
            by = ctx.owner_cbu(f"field:{ent.name}.{f.name}")
            if by is not None and by.domains and by.name != cbu.name:
                continue  # added by another unit's extends: its words are that unit's
            words |= words_of(f.name, f.label)
        foreign = _foreign(cbu, words)
        if foreign:
            shown = sorted(w for w in words if families_of({w}) & foreign)
            hits.append(Hit(
                f"entity:{ent.name}", f"entities.{ent.name}",
                f"entity '{ent.name}' of CBU {cbu.name} ({', '.join(cbu.domains)}) is labelled for "
                f"{', '.join(sorted(foreign))}: {', '.join(shown)}." + plain_words(cbu, foreign)))
    return hits


def check_foreign_roles(ctx: ScanContext) -> list[Hit]:
    hits = []
    owned = _owned_entities(ctx)
    for role in ctx.app.roles:
        fams = {d.split(".", 1)[0] for d in role.domains} or families_of(words_of(role.name, role.label))
        if not fams:
            continue
        for ent, cbu in owned:
            rights = role.entities.get(ent.name)
            if rights and (rights.create or rights.update) and not fams & (cbu.families | NEUTRAL_FAMILIES):
                hits.append(Hit(
                    f"role:{role.name}", f"roles.{role.name}.entities.{ent.name}",
                    f"role '{role.name}' ({', '.join(sorted(fams))}) writes '{ent.name}' of CBU "
                    f"{cbu.name} ({', '.join(cbu.domains)})"))
    return hits


def check_fefo_off(ctx: ScanContext) -> list[Hit]:
    s = ctx.app.settings
    if s.get("industry") in BATCH_INDUSTRIES and s.get("fefo") is False:
        return [Hit("app", "settings.fefo",
                    f"FEFO is off in a {s['industry']} app: perishable stock may ship out of expiry order")]
    return []


def _fix_fefo(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    new.settings["fefo"] = True
    return new


def check_negative_batches(ctx: ScanContext) -> list[Hit]:
    hits = []
    for led in ctx.app.ledgers:
        batched = any(d.name == "batch" or d.entity == "batch" for d in led.dimensions)
        if led.allow_negative and batched:
            hits.append(Hit(f"ledger:{led.name}", f"ledgers.{led.name}.allow_negative",
                            f"ledger '{led.name}' tracks batches but allows negative stock"))
    return hits


def check_batch_dimension(ctx: ScanContext) -> list[Hit]:
    if ctx.app.settings.get("industry") not in BATCH_INDUSTRIES:
        return []
    hits = []
    for led in ctx.app.ledgers:
        dims = {d.name for d in led.dimensions}
        if "item" in dims and "batch" not in dims:
            hits.append(Hit(f"ledger:{led.name}", f"ledgers.{led.name}.dimensions",
                            f"{ctx.app.settings['industry']} app: stock ledger '{led.name}' has no batch "
                            "dimension, so expiry cannot be tracked"))
    return hits


RULES = [
    Rule("DF-01", "DF", "high", "能力单元关联了其他领域的记录", "CBU entity linked to records of another domain",
         check_foreign_links,
         "Use a unit made for that domain (e.g. an HR appraisal unit for employees) instead of re-purposing "
         "this one; or remove the link."),
    Rule("DF-02", "DF", "high", "能力单元被挪作他用(标签属于其他领域)", "CBU entity relabelled for another domain",
         check_foreign_labels,
         "The unit's rules, permissions and reports assume its own domain; install a unit for the new "
         "purpose and move the data there."),
    Rule("DF-03", "DF", "medium", "其他领域的角色写入能力单元数据", "Role of another domain writes CBU data",
         check_foreign_roles,
         "Grant write access on the unit's entities to roles of its own domain only."),
    Rule("DF-04", "DF", "high", "食品行业关闭了先到期先出(FEFO)", "FEFO switched off in a food app",
         check_fefo_off, "Turn FEFO on (settings.fefo = true) so batches ship first-expiry-first-out.",
         Fix(lambda hits: ["set settings.fefo = true"], _fix_fefo)),
    Rule("DF-05", "DF", "high", "批次管理允许负库存", "Negative stock allowed with batches",
         check_negative_batches,
         "Set allow_negative to false on batch-tracked ledgers; a negative batch has no expiry to trust."),
    Rule("DF-06", "DF", "medium", "食品/餐饮库存账缺少批次维度", "Food stock ledger without batch dimension",
         check_batch_dimension, "Add a 'batch' dimension (entity batch) to the stock ledger."),
]
