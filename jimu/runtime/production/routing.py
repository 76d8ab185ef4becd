"""Routings on the shop floor (DESIGN 16, Manufacturing; the ``routing`` unit).

A record listener (hook ``jimu_record_listeners``), active in apps that have the
``routing`` unit's entities, so the figures move in the same transaction as the write
that causes them (both commit or neither does):

- a work order entering ``released`` with no operations copies its product's routing into
  ``work_order_operation`` rows (planned minutes = standard minutes × planned qty);
- an ``operation_report`` created adds its good, scrap and minutes to the work order's
  operation row; the work order comes from the link or, when scanned, from
  ``work_order_number``. What an operation reports in total (good + scrap) may not exceed
  what the previous operation delivered good (the first: the planned qty): above it the
  create is refused (422 ``operation_report.exceeds``) with the numbers.

Work in progress of a work order (``wip_qty``) = good of the first operation − scrap of
the later ones − good of the last: the units that started and neither came out good at
the end nor were scrapped on the way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jimu.core.clock import now
from jimu.core.errors import Conflict, ValidationError
from jimu.runtime.records.codec import columns_for, row_to_record

__all__ = ["RoutingListener", "LISTENER", "wip"]

OPEN_STATES = ("released", "in_progress")


def _dec(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v or 0))


def _fmt(v: Decimal) -> str:
    return format(v.normalize(), "f") if v == v.to_integral() else str(v)


def wip(ops: list[dict[str, Any]]) -> Decimal:
    """Work in progress of the operation rows (sorted by sequence)."""
    if not ops:
        return Decimal(0)
    return _dec(ops[0]["good_qty"]) - sum((_dec(o["scrap_qty"]) for o in ops[1:]), Decimal(0)) - _dec(ops[-1]["good_qty"])


def _children(conn: Any, rt: Any, entity: str, parent: int) -> list[dict[str, Any]]:
    ent = rt.entity(entity)
    t = rt.tables(entity)
    rows = conn.execute(sa.select(t).where(t.c._parent_id == parent)).mappings().all()
    recs = [row_to_record(ent, r) for r in rows]
    return sorted(recs, key=lambda r: (int(r.get("sequence") or 0), int(r["id"])))


def _col(rt: Any, entity: str, field: str) -> Any:
    from jimu.platform.schema import column_name

    return rt.tables(entity).c[column_name(rt.entity(entity).field(field))]


def _copy_routing(event: Any) -> None:
    conn, rt, wo = event.conn, event.app, event.after
    if _children(conn, rt, "work_order_operation", event.record_id):
        return  # entered by hand or copied before
    rtab = rt.tables("routing")
    found = conn.execute(sa.select(rtab.c.id).where(_col(rt, "routing", "item") == wo.get("product"))).first()
    if found is None:
        return  # a product without a routing is made without operation reports
    qty = _dec(wo.get("qty"))
    ent = rt.entity("work_order_operation")
    table = rt.tables("work_order_operation")
    at = now()
    for i, op in enumerate(_children(conn, rt, "routing_operation", int(found.id))):
        cols = columns_for(ent, {"sequence": op["sequence"], "name": op["name"], "work_center": op["work_center"],
                                 "planned_minutes": _dec(op["std_minutes"]) * qty, "good_qty": Decimal(0),
                                 "scrap_qty": Decimal(0), "actual_minutes": Decimal(0)})
        cols.update(version=1, created_at=at, updated_at=at, created_by=event.actor.username,
                    updated_by=event.actor.username, _parent_id=event.record_id, _idx=i)
        conn.execute(table.insert().values(cols))


def _refuse(msg_en: str, msg_zh: str, code: str, **extra: Any) -> ValidationError:
    return ValidationError(f"{msg_en} ({msg_zh})", code=code, extra=extra)


def _resolve(event: Any) -> dict[str, Any]:
    """The reported work order (a row of its table), by link or by scanned number."""
    conn, rt, rep = event.conn, event.app, event.after
    t = rt.tables("work_order")
    if rep.get("work_order"):
        row = conn.execute(sa.select(t).where(t.c.id == rep["work_order"])).mappings().first()
    else:
        number = str(rep.get("work_order_number") or "").strip()
        if not number:
            raise _refuse("scan or choose the work order", "请扫描工单号或选择工单", "operation_report.work_order")
        row = conn.execute(sa.select(t).where(_col(rt, "work_order", "number") == number)).mappings().first()
        if row is None:
            raise _refuse(f"no work order numbered {number}", f"没有工单号为 {number} 的工单",
                          "operation_report.work_order", work_order_number=number)
    assert row is not None  # a link is checked by the record service before listeners run
    return row_to_record(rt.entity("work_order"), row)


def _report(event: Any) -> None:
    conn, rt, rep = event.conn, event.app, event.after
    wo = _resolve(event)
    if wo.get("state") not in OPEN_STATES:
        raise Conflict(f"work order {wo['number']} is {wo.get('state')}: only released or in-progress work orders take "
                       f"reports (工单 {wo['number']} 不在已下达/生产中状态,不能报工)", code="operation_report.state",
                       extra={"work_order": wo["id"], "state": wo.get("state")})
    ops = _children(conn, rt, "work_order_operation", int(wo["id"]))
    seq = int(rep["operation"])
    idx = next((i for i, o in enumerate(ops) if int(o["sequence"]) == seq), None)
    if idx is None:
        raise _refuse(f"work order {wo['number']} has no operation {seq}", f"工单 {wo['number']} 没有工序 {seq}",
                      "operation_report.operation", operation=seq, operations=[int(o["sequence"]) for o in ops])
    op = ops[idx]
    good, scrap = _dec(rep.get("good_qty")), _dec(rep.get("scrap_qty"))
    before = _dec(op["good_qty"]) + _dec(op["scrap_qty"])
    limit = _dec(ops[idx - 1]["good_qty"]) if idx else _dec(wo.get("qty"))
    if before + good + scrap > limit:
        prev = f"operation {ops[idx - 1]['sequence']} delivered" if idx else "the work order plans"
        prev_zh = f"上道工序 {ops[idx - 1]['sequence']} 合格" if idx else "工单计划"
        raise _refuse(f"operation {seq} of {wo['number']}: {_fmt(before)} reported + {_fmt(good + scrap)} now exceeds "
                      f"the {_fmt(limit)} {prev}",
                      f"工单 {wo['number']} 工序 {seq}:已报 {_fmt(before)} + 本次 {_fmt(good + scrap)} 超过{prev_zh} {_fmt(limit)}",
                      "operation_report.exceeds", operation=seq, reported=str(before), qty=str(good + scrap),
                      available=str(limit - before), limit=str(limit))
    op_t = rt.tables("work_order_operation")
    new = {"good_qty": _dec(op["good_qty"]) + good, "scrap_qty": _dec(op["scrap_qty"]) + scrap,
           "actual_minutes": _dec(op.get("actual_minutes")) + _dec(rep.get("minutes"))}
    cols = columns_for(rt.entity("work_order_operation"), new)
    cols.update(updated_at=now(), updated_by=event.actor.username, version=int(op["version"]) + 1)
    conn.execute(op_t.update().where(op_t.c.id == op["id"]).values(cols))
    ops[idx] = {**op, **new}
    wo_t = rt.tables("work_order")
    wo_cols = columns_for(rt.entity("work_order"), {"wip_qty": wip(ops)})
    wo_cols.update(updated_at=now(), updated_by=event.actor.username, version=int(wo["version"]) + 1)
    conn.execute(wo_t.update().where(wo_t.c.id == wo["id"]).values(wo_cols))
    if not rep.get("work_order"):  # the scanned number, resolved
        r_t = rt.tables("operation_report")
        conn.execute(r_t.update().where(r_t.c.id == event.record_id)
                     .values(columns_for(rt.entity("operation_report"), {"work_order": wo["id"]})))
        rep["work_order"] = wo["id"]  # the record service returns this dict: the caller sees the link


class RoutingListener:
    """Copies routings on release and books operation reports (see the module doc)."""

    def after_write(self, event: Any) -> None:
        name = event.entity.name
        if name == "operation_report" and event.action == "create" and event.entity.field("operation") is not None:
            _report(event)
        elif (name == "work_order" and event.action == "transition" and event.after
              and event.after.get("state") == "released" and (event.before or {}).get("state") != "released"
              and event.entity.field("operations") is not None and "routing" in _entities(event.app)):
            _copy_routing(event)


def _entities(rt: Any) -> set[str]:
    return {e.name for e in rt.spec.entities}


LISTENER = RoutingListener()
