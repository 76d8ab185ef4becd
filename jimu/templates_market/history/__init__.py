"""A demo that has lived (issue 22): 120 days of business history for an installed app,
generated with a fixed seed from whatever master data the app has, so its dashboards,
reports and forecasts show real figures on first start.

:func:`generate_history` simulates the days (:mod:`.simulate`), then writes the orders,
purchases, returns, counts, approvals and stock movements in bulk with their own past
timestamps (:mod:`.write`), in one write transaction. The opening stock the sample data
posted is moved to the day before the history begins, so the ledger's story starts
there; ``jimu ledger verify`` stays clean and stock never goes below zero. Batch-tracked
stock (food) is generated batch by batch (:mod:`.batchsim`): receipts create batches,
orders reserve and ship first-expiry-first-out. Catering (:mod:`.catering`) lives
through dish sales at its stores, each taking its recipes' ingredients batch by batch
first-expiry-first-out, the ingredients bought each morning, and the semi-finished goods
its central kitchen makes with work orders and sends to the stores by requisition.
The nightly upkeep a scheduler would have done meanwhile (schedule automations that only
set fields, such as quarantining expired batches) runs once at the end, through the
automations themselves.
"""

from __future__ import annotations

import logging
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from jimu.core import clock
from jimu.platform.audit import record_audit
from jimu.runtime.automations.schedule import catch_up_ticks, run_catch_up
from jimu.templates_market.history.batchrows import read_lots
from jimu.templates_market.history.batchsim import simulate_batches
from jimu.templates_market.history.contracts import (
    link_orders,
    plan_contracts,
    plan_rates,
    price_payments,
    write_contracts,
    write_rates,
)
from jimu.templates_market.history.master import read_master, shape_of
from jimu.templates_market.history.moves import backdate
from jimu.templates_market.history.production import simulate_factory
from jimu.templates_market.history.production_rows import part_costs, read_boms
from jimu.templates_market.history.simulate import History, simulate
from jimu.templates_market.history.write import approval_transition, write_history

__all__ = ["DEFAULT_DAYS", "DEFAULT_SEED", "HistoryResult", "generate_history"]

log = logging.getLogger(__name__)

DEFAULT_DAYS = 120
DEFAULT_SEED = 22


@dataclass
class HistoryResult:
    """What was written: rows per entity (and ``movements``), the window, the seconds."""

    app: str
    start: str = ""
    end: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    catch_up: int = 0  # schedule automations run once at the end (records they changed)

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "start": self.start, "end": self.end, "rows": self.rows,
                "catch_up": self.catch_up, "seconds": round(self.seconds, 3)}


def _backdate_master(conn: Any, rt: Any, since: datetime, to: datetime) -> None:
    """Master data and opening adjustments (entities without a workflow) existed before
    the history began; today's draft documents stay today's."""
    for ent in rt.spec.entities:
        if ent.archived or rt.workflow_for(ent.name) is not None or rt.spec.parent_of(ent.name) is not None:
            continue
        t = rt.tables(ent.name)
        conn.execute(sa.update(t).where(t.c.created_at >= since).values(created_at=to, updated_at=to))


def _catering(jimu: Any, conn: Any, rt: Any, shape: Any, master: Any, *, end: datetime, days: int,
              seed: int) -> History:
    """Catering (:mod:`.catering`): dish sales at the stores, ingredients bought in, the
    central kitchen's work orders and the stores' requisitions (:mod:`.kitchen`)."""
    from jimu.templates_market.history.catering import simulate_catering
    from jimu.templates_market.history.catering_rows import read_catering

    dishes, chain = read_catering(jimu, conn, rt)
    lots, shelf = read_lots(conn, rt, shape.ledger)
    h, sales = simulate_catering(dishes, list(chain.stores), list(master.suppliers), lots, shelf, part_costs(conn, rt),
                                 end=end, days=days, seed=seed, chain=chain)
    h.dish_sales = sales
    return h


def generate_history(jimu: Any, app: str, *, days: int = DEFAULT_DAYS, seed: int = DEFAULT_SEED,
                     orders_per_day: float = 9.0) -> HistoryResult:
    """Write ``days`` days of history ending now into ``app`` (installed, with its sample
    master data). Same app data and seed, same history. Returns what was written."""
    started = _time.perf_counter()
    out = HistoryResult(app)
    rt = jimu.apps.get(app)
    if rt.spec.entity("sales_order") is None or rt.spec.entity("item") is None:
        return out
    shape = shape_of(rt)
    if rt.spec.ledger("stock") is not None and shape.ledger is None:
        return out  # a stock ledger of other dimensions: shipping without them would not be that app's history
    end = clock.now()
    with jimu.db.write() as conn:
        master = read_master(conn, rt, shape)
        approvals = approval_transition(rt, "sales_order") is not None
        h: History
        factory = shape.batches and rt.spec.entity("work_order") is not None and rt.spec.entity("bom") is not None
        boms, bom_ids = read_boms(jimu, conn, app) if factory else ({}, {})
        if shape.batches and shape.ledger is not None and rt.spec.entity("dish_sale") is not None:
            h = _catering(jimu, conn, rt, shape, master, end=end, days=days, seed=seed)
        elif shape.batches and shape.ledger is not None and boms:  # a factory: what has a BOM is made
            lots, shelf = read_lots(conn, rt, shape.ledger)
            h = simulate_factory(master, lots, shelf, boms, bom_ids, part_costs(conn, rt), end=end, days=days,
                                 seed=seed, orders_per_day=orders_per_day, approvals=approvals)
        elif shape.batches and shape.ledger is not None:
            lots, shelf = read_lots(conn, rt, shape.ledger)
            h = simulate_batches(master, lots, shelf, end=end, days=days, seed=seed, orders_per_day=orders_per_day,
                                 approvals=approvals)
        else:
            h = simulate(master, end=end, days=days, seed=seed, orders_per_day=orders_per_day, approvals=approvals)
        trade = rt.spec.entity("contract") is not None and rt.spec.entity("fx_rate") is not None
        rates = plan_rates(h.start, end.date(), seed) if trade else {}
        contracts = plan_contracts(master, h, rates, seed) if trade else []
        if not (h.orders or h.purchases or h.work_orders or contracts or h.dish_sales):
            return out  # nothing this generator knows how to live through: left as installed
        opening = datetime.combine(h.start - timedelta(days=1), time(8), UTC)
        since = datetime.combine(h.start, time(), UTC)
        if shape.ledger is not None:
            backdate(conn, app, shape.ledger, since, opening)
        _backdate_master(conn, rt, since, opening)
        if trade:
            out.rows["fx_rate"] = write_rates(jimu, conn, rt, rates)
            out.rows["contract"] = write_contracts(jimu, conn, rt, contracts, end)
        out.rows.update(write_history(jimu, conn, rt, h, shape, seed,
                                      price=(lambda bills: price_payments(bills, rates)) if trade else None))
        link_orders(conn, rt, contracts)
        from jimu.runtime.rollups import rebuild

        rebuild(conn, rt)
        for entity, n in out.rows.items():
            ent = rt.spec.entity(entity)
            if ent is not None and n:
                record_audit(conn, app=app, user="system", action="import", entity=ent, record=None, changes=[],
                             summary=(f"系统 生成了 {n} 条 {ent.label.zh or ent.name} 历史(演示数据)",
                                      f"system generated {n} {ent.name} rows of demo history"))
        ticks = catch_up_ticks(jimu, conn, app, end)
    # the nightly upkeep no scheduler ran while the history was written (expired batches
    # quarantined), through the automations themselves: their postings and audit rows
    out.catch_up = run_catch_up(jimu, ticks)
    out.start, out.end = h.start.isoformat(), end.isoformat()
    out.seconds = _time.perf_counter() - started
    log.info("generated %s days of history into %s in %.2fs: %s", days, app, out.seconds, out.rows)
    return out
