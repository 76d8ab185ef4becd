"""The aging report as a caller sees it, through their :class:`AccessPolicy`.

Who: a caller with ``read`` and ``export`` on ``invoice`` (finance, manager and admin in the
templates; sales and purchasing read their own kind of invoice but get no report: a report
is a bulk read of figures, like an export). The caller's row filter on invoices applies
inside the aggregate; when the partner, due date or open base amount is hidden or masked
for them the report is refused (403): a sum of a masked field would give it away.
Partner names come from the partner entity when the caller may read it (else ids only).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.core.errors import FieldError, NotFound, PermissionDenied, ValidationError
from jimu.runtime.access import AccessPolicy
from jimu.runtime.money.aging import BUCKETS, KINDS, aging_rows, render
from jimu.runtime.money.currency import places, settings
from jimu.runtime.money.invoices import INVOICE

__all__ = ["aging_report", "may_see_aging"]


def _check(policy: AccessPolicy, kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}",
                              errors=[FieldError("kind", "choice", f"one of {', '.join(KINDS)}")])
    if policy.rt.spec.entity(INVOICE) is None:
        raise NotFound(f"app '{policy.app}' has no invoices (install the invoice unit)", code="report.not_found")
    policy.require(INVOICE, "read")
    if not policy.can(INVOICE, "export"):
        raise PermissionDenied("the aging report needs the export right on invoices / 账龄分析需要发票导出权限",
                               code="forbidden.report")
    partner = KINDS[kind][1]
    for field in (partner, "due_date", "open_base_amount", "kind", "state"):
        rule = policy.field_rule(INVOICE, field)
        if not rule.visible or rule.access == "mask":
            raise PermissionDenied(f"invoice.{field} is hidden or masked for you / 发票字段 {field} 对你不可见",
                                   code="forbidden.report", extra={"field": field})
    return partner


def may_see_aging(policy: AccessPolicy, kind: str = "receivable") -> bool:
    """Whether the caller gets the report (the per-caller OpenAPI lists it only then)."""
    try:
        _check(policy, kind)
    except (NotFound, PermissionDenied):
        return False
    return True


def _names(policy: AccessPolicy, entity: str, ids: set[int]) -> dict[int, str]:
    ent = policy.rt.spec.entity(entity)
    if ent is None or not ids or not policy.can(entity, "read"):
        return {}
    title = ent.title
    if not title or not policy.field_rule(entity, title).visible or policy.field_rule(entity, title).access == "mask":
        return {}
    table = policy.rt.tables(entity)
    stmt = sa.select(table.c.id, table.c[title]).where(table.c.id.in_(sorted(ids)))
    clause = policy.row_clause(entity, "read")
    if clause is not None:
        stmt = stmt.where(clause)
    with policy.jimu.db.read() as c:
        return {int(r[0]): str(r[1]) for r in c.execute(stmt)}


def aging_report(policy: AccessPolicy, kind: str) -> dict[str, Any]:
    """``{"kind", "as_of", "currency", "buckets", "data": [rows], "totals", "next_cursor"}``."""
    partner = _check(policy, kind)
    base = str(settings(policy.rt.spec)["base_currency"])
    today = clock.now().date()
    table = policy.rt.tables(INVOICE)
    with policy.jimu.db.read() as conn:
        rows = aging_rows(conn, table, kind, today, base_currency=base, where=policy.row_clause(INVOICE, "read"))
    target = policy.rt.entity(INVOICE).field(partner)
    names = _names(policy, target.target if target is not None and target.target else partner,
                   {int(r["partner"]) for r in rows if r["partner"] is not None})
    for r in rows:
        r["partner_name"] = names.get(int(r["partner"])) if r["partner"] is not None else None
    zero = Decimal(0).scaleb(-places(base))
    totals = {b: sum((r[b] for r in rows), zero) for b in (*BUCKETS, "total")}
    return {"kind": kind, "as_of": today.isoformat(), "currency": base, "buckets": list(BUCKETS),
            "data": render(rows), "totals": render([totals])[0], "next_cursor": None}
