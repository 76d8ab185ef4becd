"""ABC classes (DESIGN 16, Intelligence): ``GET /api/apps/{app}/reports/abc?by=value|movement``
and ``POST .../reports/abc/apply``, which writes ``item.abc_class`` (what the stocktake's
cycle counts read).

Measure per item over the last ``days`` days (default 365, the ``abc_days`` setting):

- ``value``: Σ shipped qty × ``item.cost_price`` (the usage value at cost). Needs the cost
  in clear: a caller for whom ``cost_price`` is hidden or masked is refused (403), and
  the default ``by`` is ``movement`` for them (``value`` for the others);
- ``movement``: the number of shipment movements (picks), comparable across units.

Items sorted by measure (largest first, then SKU); an item's class follows the cumulative
share of the items *before* it: below ``abc_a`` (0.80) → A, below ``abc_a + abc_b``
(0.95) → B, else C — the item that crosses 80 % is still A. An item without any measure is
C. Every active item the caller reads is listed.

Apply writes only the classes that change, one audited update per item through the record
gate (update on ``item`` with ``abc_class`` writable).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jimu.core.errors import FieldError, NotFound, PermissionDenied, ValidationError
from jimu.core.money import to_decimal
from jimu.runtime.access import AccessPolicy, gate
from jimu.runtime.intel.demand import (
    ITEM,
    clear_field,
    demand,
    int_param,
    items_of,
    report_settings,
    require_clear,
    stock_ledger,
    today,
)

__all__ = ["BY", "abc_report", "apply_abc", "classify"]

BY = ("value", "movement")
_Q = Decimal("0.0001")


def classify(measures: Mapping[int, Decimal], a: Decimal, b: Decimal,
             order: Mapping[int, str] | None = None) -> list[tuple[int, Decimal, Decimal, str]]:
    """(item, share, cumulative share, class) largest first (ties by ``order``'s text, then id)."""
    total = sum(measures.values(), Decimal(0))
    keys = sorted(measures, key=lambda i: (-measures[i], (order or {}).get(i, ""), i))
    out = []
    cum = Decimal(0)
    for i in keys:
        m = measures[i]
        share = m / total if total > 0 else Decimal(0)
        before = cum
        cum += share
        cls = "C" if m <= 0 else ("A" if before < a else "B" if before < a + b else "C")
        out.append((i, share, cum, cls))
    return out


def _params(policy: AccessPolicy, params: Mapping[str, Any]) -> tuple[str, int, Decimal, Decimal]:
    conf = report_settings(policy.rt.spec)
    # the default is what the caller may ask for: by value needs the item's cost in clear
    by = str(params.get("by") or ("value" if clear_field(policy, ITEM, "cost_price") else "movement"))
    if by not in BY:
        raise ValidationError("by must be value or movement / by 须为 value 或 movement", code="report.param",
                              errors=[FieldError("by", "choice", "value | movement")])
    days = int_param(params.get("days"), "days", 7, 1095, int(conf["abc_days"]))
    return by, days, Decimal(str(conf["abc_a"])), Decimal(str(conf["abc_b"]))


def abc_report(policy: AccessPolicy, params: Mapping[str, Any]) -> dict[str, Any]:
    """``{by, days, as_of, thresholds, total, counts, data: [{item, sku, item_name, measure,
    share, cumulative_share, class, current_class}], next_cursor}``."""
    lg = stock_ledger(policy)
    by, days, a, b = _params(policy, params)
    if by == "value":
        require_clear(policy, ITEM, "cost_price", "ABC by value")
    until = today()
    since = until - timedelta(days=days - 1)
    with policy.jimu.db.read() as conn:
        items = items_of(policy, conn, ("sku", "name", "cost_price", "abc_class"))
        dem = demand(conn, policy, lg, since, until)
    measures: dict[int, Decimal] = {}
    for i, info in items.items():
        if by == "value":
            cost = to_decimal(info.get("cost_price")) if info.get("cost_price") is not None else Decimal(0)
            measures[i] = dem.total(i) * cost
        else:
            measures[i] = Decimal(dem.moves.get(i, 0))
    ranked = classify(measures, a, b, {i: str(items[i].get("sku") or "") for i in items})
    counts = {"A": 0, "B": 0, "C": 0}
    data = []
    for i, share, cum, cls in ranked:
        counts[cls] += 1
        m = measures[i]
        data.append({"item": i, "sku": items[i].get("sku"), "item_name": items[i].get("name"),
                     "measure": format(m.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f") if by == "value"
                     else int(m),
                     "share": format(share.quantize(_Q, rounding=ROUND_HALF_UP), "f"),
                     "cumulative_share": format(cum.quantize(_Q, rounding=ROUND_HALF_UP), "f"),
                     "class": cls, "current_class": items[i].get("abc_class")})
    total = sum(measures.values(), Decimal(0))
    return {"by": by, "days": days, "as_of": until.isoformat(),
            "thresholds": {"A": format(a, "f"), "B": format(a + b, "f")},
            "total": format(total.quantize(Decimal("0.01")), "f") if by == "value" else int(total),
            "counts": counts, "data": data, "next_cursor": None}


def apply_abc(policy: AccessPolicy, body: Mapping[str, Any]) -> dict[str, Any]:
    """Compute the classes (``body``: by, days) and write the changed ones to
    ``item.abc_class``: ``{by, days, updated: [{item, from, to}], unchanged}``."""
    ent = policy.rt.spec.entity(ITEM)
    if ent is None or ent.field("abc_class") is None:
        raise NotFound(f"app '{policy.app}' has no item.abc_class", code="report.not_found")
    policy.require(ITEM, "update")
    if not policy.field_rule(ITEM, "abc_class").writable:
        raise PermissionDenied("you may not change item.abc_class / 你不能修改 ABC 分类", code="forbidden.field",
                               errors=[FieldError("abc_class", "forbidden.field", "read-only for you")])
    report = abc_report(policy, body)
    updated = []
    unchanged = 0
    for row in report["data"]:
        if row["current_class"] == row["class"]:
            unchanged += 1
            continue
        gate.update(policy, ITEM, row["item"], {"abc_class": row["class"]})
        updated.append({"item": row["item"], "sku": row["sku"], "from": row["current_class"], "to": row["class"]})
    return {"by": report["by"], "days": report["days"], "updated": updated, "unchanged": unchanged}


def chart_rows(policy: AccessPolicy, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per class: the number of items and their share of the measure (dashboard panel)."""
    report = abc_report(policy, params)
    per: dict[str, dict[str, Any]] = {c: {"class": c, "items": 0, "share": Decimal(0)} for c in "ABC"}
    for r in report["data"]:
        per[r["class"]]["items"] += 1
        per[r["class"]]["share"] += Decimal(r["share"])
    return [dict(v, share=format(v["share"].quantize(_Q), "f")) for v in per.values()]
