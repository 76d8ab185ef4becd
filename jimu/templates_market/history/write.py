"""Storing a simulated :class:`~.simulate.History` in an app: the documents (sales and
purchase orders, returns, counts) with their lines and states, the approvals their
workflows would have opened and decided, and the stock ledger's movements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from jimu.core.errors import Conflict
from jimu.platform.actor import SYSTEM
from jimu.platform.expressions import compile_expression
from jimu.runtime.records.computed import expression_env
from jimu.runtime.workflow.approvals import in_base, resolve_steps
from jimu.runtime.workflow.tables import approvals, votes
from jimu.templates_market.history.batchrows import purchase_line_batch, sales_line_batch, write_lots
from jimu.templates_market.history.finance import credit_limits, plan_finance, write_finance
from jimu.templates_market.history.master import AppShape
from jimu.templates_market.history.moves import Hold, LedgerRows, Move
from jimu.templates_market.history.rows import NewDoc, insert_docs
from jimu.templates_market.history.simulate import SUBMITTED, History, PurchaseOrder, SalesOrder

__all__ = ["write_history"]

def _submitted(o: SalesOrder | PurchaseOrder) -> datetime:
    return o.created + SUBMITTED


def _so_doc(o: SalesOrder, n: int, scale: int | None) -> NewDoc:
    values: dict[str, Any] = {"customer": o.customer, "warehouse": o.warehouse, "order_date": o.created.date(),
                              "channel": o.channel, "payment_status": o.paid if o.channel != "online" else "paid",
                              "state": o.state, "note": "促销活动 / promotion" if o.promo else None}
    if o.shipped is not None:
        values["logistics_no"] = f"SF{o.shipped:%y%m%d}{n:05d}"
    shipped = o.shipped is not None
    lines = [{"item": ln.item, "qty": ln.qty, "price": ln.price, "shipped_qty": ln.qty if shipped else 0,
              **(sales_line_batch(o, ln, scale) if scale is not None else {})} for ln in o.lines]
    by = {"completed": "sales", "shipped": "warehouse", "cancelled": "sales", "rejected": "manager",
          "approved": "manager"}.get(o.state, "sales")
    return NewDoc({**values, **_trade(o)}, o.created, o.last_change, "sales", by, lines)


def _trade(o: SalesOrder | PurchaseOrder) -> dict[str, Any]:
    """A contract's order is in the contract currency at the locked rate, linked to it."""
    t = o.trade
    if t is None:
        return {}
    return {"currency": t.currency, "fx_rate": t.fx_rate, "contract": t.contract or None,
            "note": "合同订单 / contract order"}


def _po_doc(p: PurchaseOrder) -> NewDoc:
    values = {"supplier": p.supplier, "warehouse": p.warehouse, "order_date": p.created.date(),
              "expected_date": p.expected, "state": p.state,
              "note": "供应商延迟交货 / delivered late" if p.late and p.received else None}
    received = p.received is not None
    lines = [{"item": ln.item, "qty": ln.qty, "price": ln.price, "received_qty": ln.qty if received else 0,
              **(purchase_line_batch(ln) if received else {})} for ln in p.lines]
    last = max(t for t in (p.created, p.approved, p.received) if t is not None)
    by = "warehouse" if received else ("manager" if p.approved else "purchasing")
    return NewDoc({**values, **_trade(p)}, p.created, last, "purchasing", by, lines)


class _Approvals:
    """Approval instances as the engine opens and closes them (``jimu_wf_approval`` and
    its votes), for the documents whose submit transition asks for approval."""

    def __init__(self, jimu: Any, conn: Connection, rt: Any, entity: str) -> None:
        self.conn, self.rt, self.entity = conn, rt, entity
        self.t = approval_transition(rt, entity)
        wf = rt.workflow_for(entity)
        self.wf = wf
        self.env = expression_env(jimu.records, conn, rt, SYSTEM).get()
        self.rows: list[dict[str, Any]] = []
        self.cache: dict[tuple[bool, ...], list[dict[str, Any]] | None] = {}

    @property
    def needed(self) -> bool:
        return self.t is not None

    def add(self, record: dict[str, Any], rid: int, submitter: str, opened: datetime,
            decided: datetime | None, decision: str) -> None:
        assert self.t is not None and self.t.approval is not None and self.wf is not None
        # The steps depend on the record only through their conditions: resolve once per outcome.
        spec = self.rt.spec
        seen = in_base(spec, self.entity, record)  # what resolve_steps decides on
        sig = tuple(bool(compile_expression(s.condition, spec, self.entity, purpose="condition").test(seen, self.env))
                    if s.condition else True for s in self.t.approval.steps)
        if sig not in self.cache:
            try:
                self.cache[sig] = resolve_steps(self.conn, spec, self.entity, self.t.approval, record, submitter,
                                                self.env)
            except Conflict:
                self.cache[sig] = None  # nobody to approve (no demo users): no approval is recorded
        steps = self.cache[sig]
        if steps is None:
            return
        status = "open" if decided is None else ("approved" if decision == "approve" else "rejected")
        live = [i for i, s in enumerate(steps) if not s["skipped"]] or [0]
        step = live[-1] if status == "approved" else live[0]
        self.rows.append({"app": self.rt.name, "entity": self.entity, "record": rid, "workflow": self.wf.name,
                          "transition": self.t.name, "pending_state": self.t.to,
                          "from_state": (self.t.from_ or ["draft"])[0], "status": status, "step": step,
                          "steps": steps, "submitter": submitter, "opened_at": opened, "step_opened_at": opened,
                          "closed_at": decided})

    def write(self) -> int:
        if not self.rows:
            return 0
        stmt = approvals.insert().returning(approvals.c.id, sort_by_parameter_order=True)
        ids = [int(x) for x in self.conn.execute(stmt, self.rows).scalars()]
        vote_rows = []
        for rid, row in zip(ids, self.rows, strict=True):
            if row["closed_at"] is None:
                continue
            steps = row["steps"]
            live = [i for i, s in enumerate(steps) if not s["skipped"]]
            voted = live if row["status"] == "approved" else live[:1]
            for k, i in enumerate(voted):
                who = (steps[i]["approvers"] or ["admin"])[0]
                at = row["closed_at"] - (row["closed_at"] - row["opened_at"]) * (len(voted) - 1 - k) / max(1, len(voted))
                vote_rows.append({"approval_id": rid, "step": i, "step_name": steps[i]["name"], "user": who,
                                  "on_behalf_of": who, "decision": "approve" if row["status"] == "approved" else "reject",
                                  "comment": None, "at": at})
        if vote_rows:
            self.conn.execute(votes.insert(), vote_rows)
        return len(ids)


def approval_transition(rt: Any, entity: str) -> Any:
    """The ``submit`` transition of ``entity``'s workflow when it asks for approval."""
    wf = rt.workflow_for(entity)
    return next((t for t in (wf.transitions if wf else []) if t.name == "submit" and t.approval), None)


def _sales(jimu: Any, conn: Connection, rt: Any, h: History, shape: AppShape, ledger: LedgerRows | None) -> int:
    scale = ledger.lg.scale if ledger is not None and ledger.batched else None
    docs = [_so_doc(o, n, scale) for n, o in enumerate(h.orders, 1)]
    insert_docs(jimu, conn, rt, "sales_order", docs, "lines")
    ap = _Approvals(jimu, conn, rt, "sales_order")
    for o, d in zip(h.orders, docs, strict=True):
        o.id, o.line_ids = d.id, d.line_ids
        decided = o.approved or o.rejected
        if ap.needed:
            ap.add({**d.values, "id": d.id}, d.id, "sales", _submitted(o), decided,
                   "reject" if o.rejected else "approve")
        if ledger is None or not shape.sales_ship:
            continue
        for ln, lid in zip(o.lines, o.line_ids, strict=True):
            closed = o.shipped or o.cancelled or o.rejected
            state = "consumed" if o.shipped else ("released" if closed else "active")
            doc = ("sales_order", o.id, lid)
            # One hold per batch the line took (FEFO); plain stock: one per line.
            for batch, qty in (ln.alloc if ledger.batched else [(None, ln.qty)]):
                hold = ledger.hold(Hold(ln.item, o.warehouse, qty, o.id, lid, _submitted(o), "sales", closed, state,
                                        batch=batch))
                ledger.add(Move(_submitted(o), ln.item, o.warehouse, "reserve", {"reserved": qty}, doc, "submit",
                                "submit", "sales", hold=hold, batch=batch))
                if o.shipped is not None:
                    ledger.add(Move(o.shipped, ln.item, o.warehouse, "ship", {"on_hand": -qty, "reserved": -qty},
                                    doc, "ship", "ship", "warehouse", hold=hold, batch=batch))
                elif closed is not None:
                    how = "cancel" if o.cancelled else "reject"
                    # the batch ledger gives holds back per document (no transition on the row)
                    ledger.add(Move(closed, ln.item, o.warehouse, "release", {"reserved": -qty}, doc,
                                    None if ledger.batched else how, how, "manager" if o.rejected else "sales",
                                    hold=hold, batch=batch))
    ap.write()
    return len(docs)


def _purchases(jimu: Any, conn: Connection, rt: Any, h: History, shape: AppShape, ledger: LedgerRows | None) -> int:
    docs = [_po_doc(p) for p in h.purchases]
    insert_docs(jimu, conn, rt, "purchase_order", docs, "lines")
    ap = _Approvals(jimu, conn, rt, "purchase_order")
    on_order_at = "approve" if ap.needed else "submit"
    for p, d in zip(h.purchases, docs, strict=True):
        p.id, p.line_ids = d.id, d.line_ids
        if ap.needed:
            ap.add({**d.values, "id": d.id}, d.id, "purchasing", _submitted(p), p.approved, "approve")
        if ledger is None or not shape.purchase_receive or p.approved is None:
            continue
        for ln, lid in zip(p.lines, p.line_ids, strict=True):
            doc = ("purchase_order", p.id, lid)
            ledger.add(Move(p.approved, ln.item, p.warehouse, "on_order", {"on_order": ln.qty}, doc, on_order_at,
                            on_order_at, "manager" if ap.needed else "purchasing"))
            if p.received is not None and ledger.batched:  # on order without a batch, received into one
                ledger.add(Move(p.received, ln.item, p.warehouse, "receipt", {"on_order": -ln.qty}, doc, "receive",
                                "receive", "warehouse"))
                ledger.add(Move(p.received, ln.item, p.warehouse, "receipt", {"on_hand": ln.qty}, doc, "receive",
                                "receive", "warehouse", cost=ln.price, batch=ln.alloc[0][0]))
            elif p.received is not None:
                ledger.add(Move(p.received, ln.item, p.warehouse, "receipt", {"on_hand": ln.qty, "on_order": -ln.qty},
                                doc, "receive", "receive", "warehouse", cost=ln.price))
    ap.write()
    return len(docs)


def _returns(jimu: Any, conn: Connection, rt: Any, h: History, ledger: LedgerRows) -> int:
    docs = []
    for r in h.returns:
        ln = r.order.lines[r.line]
        docs.append(NewDoc({"sales_order": r.order.id, "customer": r.order.customer, "warehouse": r.order.warehouse,
                            "return_date": r.created.date(), "state": "received"},
                           r.created, r.received, "sales", "warehouse",
                           [{"item": ln.item, "qty": r.qty, "reason": r.reason,
                             **({"batch": r.lot.id} if r.lot is not None else {})}]))
    insert_docs(jimu, conn, rt, "sales_return", docs, "lines")
    for r, d in zip(h.returns, docs, strict=True):
        ln = r.order.lines[r.line]
        quality = r.reason == "quality"
        bucket, kind = ("quarantine", "return_quarantine") if quality else ("on_hand", "return_in")
        ledger.add(Move(r.received, ln.item, r.order.warehouse, kind, {bucket: r.qty},
                        ("sales_return", d.id, d.line_ids[0]), "receive", f"sales return ({r.reason})", "warehouse",
                        batch=r.lot))
    return len(docs)


def _counts(jimu: Any, conn: Connection, rt: Any, h: History, ledger: LedgerRows) -> int:
    docs = []
    for c in h.counts:
        lots = c.lots or [None] * len(c.lines)
        lines = [{"item": item, "warehouse": c.warehouse, "system_qty": book, "book_qty": book, "counted_qty": counted,
                  "blind": False, **({"batch": lot.id} if lot is not None else {})}
                 for (item, book, counted), lot in zip(c.lines, lots, strict=True)]
        docs.append(NewDoc({"warehouse": c.warehouse, "count_date": c.started.date(), "state": "posted",
                            "note": "月度盘点 / monthly count"}, c.started, c.posted, "warehouse", "manager", lines))
    insert_docs(jimu, conn, rt, "stocktake", docs, "stocktake_line")
    for c, d in zip(h.counts, docs, strict=True):
        lots = c.lots or [None] * len(c.lines)
        for (item, book, counted), lid, lot in zip(c.lines, d.line_ids, lots, strict=True):
            if counted != book:
                ledger.add(Move(c.posted, item, c.warehouse, "adjust", {"on_hand": counted - book},
                                ("stocktake", d.id, lid), "post", "post", "manager", batch=lot))
    return len(docs)


def write_history(jimu: Any, conn: Connection, rt: Any, h: History, shape: AppShape, seed: int,
                  price: Callable[[list[Any]], None] | None = None) -> dict[str, int]:
    """Store ``h`` in ``conn``'s transaction; returns rows written per entity (and
    ``movements``). ``price`` sets the day's rate on the planned payments of foreign
    currency invoices (:func:`.contracts.price_payments`)."""
    ledger = LedgerRows(rt.name, shape.ledger) if shape.ledger is not None else None
    out: dict[str, int] = {}
    if h.lots:  # the batches receipts and work orders created, before the lines that name them
        out["batch"] = write_lots(jimu, conn, rt, h.lots)
    for mine, origin in h.landed:  # a batch a store received from the kitchen is the kitchen's
        mine.id = origin.id
    out["sales_order"] = _sales(jimu, conn, rt, h, shape, ledger)
    if rt.spec.entity("purchase_order") is not None:
        out["purchase_order"] = _purchases(jimu, conn, rt, h, shape, ledger)
    if ledger is not None and h.dish_sales:
        from jimu.templates_market.history.catering_rows import write_dish_sales

        out["dish_sale"] = write_dish_sales(jimu, conn, rt, h.dish_sales, ledger)
    if ledger is not None and shape.returns:
        out["sales_return"] = _returns(jimu, conn, rt, h, ledger)
    if ledger is not None and shape.counts:
        out["stocktake"] = _counts(jimu, conn, rt, h, ledger)
    if ledger is not None and h.requisitions:
        from jimu.templates_market.history.kitchen_rows import write_requisitions

        out["store_requisition"] = write_requisitions(jimu, conn, rt, h.requisitions, ledger)
    if ledger is not None and h.work_orders:
        from jimu.templates_market.history.production_rows import write_work_orders

        out["work_order"] = write_work_orders(jimu, conn, rt, h.work_orders, ledger)
    if ledger is not None:
        out["movements"] = ledger.write(conn)
    if rt.spec.entity("invoice") is not None:
        from jimu.runtime.money.currency import settings

        terms = int(settings(rt.spec)["payment_terms_days"])
        bills = plan_finance(h, credit_limits(conn, rt), seed=seed, terms_days=terms)
        if price is not None:
            price(bills)
        out.update(write_finance(jimu, conn, rt, bills))
    return out

