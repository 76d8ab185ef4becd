"""Aging report figure (issue 20): ``GET .../reports/aging`` computed over 200,000 invoices
and 300,000 payments (with one allocation each), against one hand-written SQL query of the
same buckets in the same run.

The data is bulk-loaded straight into the app's tables (customers, suppliers, invoices of
both kinds in every state with due dates over 400 days, payments and allocations); the
figure is the report as the API computes it for a finance user (rights, row clause, the
aggregate, partner names, JSON rendering), the baseline the bare aggregate as a developer
would write it by hand (``text()``, plain SUM). Both give the same figures (checked:
``same_figures``). Prints JSON lines; SQLite always, PostgreSQL with JIMU_TEST_PG_URL.

    python benchmarks/bench_aging.py [--invoices 200000] [--payments 300000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import backends, drop_pg_schema, emit  # noqa: E402

APP = "bench"
TODAY = date(2026, 6, 30)
STATES = ("issued", "issued", "partially_paid", "paid", "cancelled", "draft")


def load(jimu: Any, n_invoices: int, n_payments: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    rt = jimu.apps.get(APP)
    now = datetime.now(UTC)
    sys_cols = {"version": 1, "created_at": now, "updated_at": now, "created_by": "bench", "updated_by": "bench"}
    with jimu.db.write() as c:
        c.execute(rt.tables("customer").insert(), [{**sys_cols, "name": f"客户{i:05d}"} for i in range(2000)])
        c.execute(rt.tables("supplier").insert(), [{**sys_cols, "name": f"供应商{i:04d}"} for i in range(500)])
    cust = [int(x) for x in _ids(jimu, rt.tables("customer"))]
    sup = [int(x) for x in _ids(jimu, rt.tables("supplier"))]
    inv = rt.tables("invoice")
    for start in range(0, n_invoices, 20000):
        rows = []
        for i in range(start, min(n_invoices, start + 20000)):
            sales = rnd.random() < 0.75
            amount = Decimal(rnd.randint(100, 5_000_000)).scaleb(-2)
            state = rnd.choice(STATES)
            paid = {"paid": amount, "partially_paid": (amount / 3).quantize(Decimal("0.01"))}.get(state, Decimal(0))
            open_amount = amount - paid
            rows.append({**sys_cols, "number": f"INV-{i:07d}", "kind": "sales" if sales else "purchase",
                         "customer": rnd.choice(cust) if sales else None, "supplier": None if sales else rnd.choice(sup),
                         "invoice_date": TODAY - timedelta(days=rnd.randint(0, 430)),
                         "due_date": TODAY - timedelta(days=rnd.randint(-30, 400)), "currency": "CNY",
                         "fx_rate": Decimal(1), "amount": amount, "base_amount": amount, "paid_amount": paid,
                         "open_amount": open_amount, "open_base_amount": open_amount, "state": state})
        with jimu.db.write() as c:
            c.execute(inv.insert(), rows)
    pay, alloc = rt.tables("payment"), rt.tables("payment_allocation")
    inv_ids = [int(x) for x in _ids(jimu, inv)]
    for start in range(0, n_payments, 20000):
        n = min(n_payments, start + 20000) - start
        with jimu.db.write() as c:
            first = int(c.execute(sa.select(sa.func.coalesce(sa.func.max(pay.c.id), 0))).scalar_one()) + 1
            c.execute(pay.insert(), [{**sys_cols, "id": first + k, "number": f"PAY-{start + k:07d}", "kind": "receipt",
                                      "customer": rnd.choice(cust), "payment_date": TODAY, "currency": "CNY",
                                      "fx_rate": Decimal(1), "amount": Decimal("100.00"), "allocated_amount":
                                      Decimal("100.00"), "state": "confirmed"} for k in range(n)])
            c.execute(alloc.insert(), [{**sys_cols, "_parent_id": first + k, "_idx": 0, "invoice": rnd.choice(inv_ids),
                                        "amount": Decimal("100.00")} for k in range(n)])


def _ids(jimu: Any, table: sa.Table) -> list[Any]:
    with jimu.db.read() as c:
        return list(c.execute(sa.select(table.c.id)).scalars())


HAND = """SELECT customer,
  SUM(CASE WHEN due_date IS NULL OR due_date >= :d30 THEN open_base_amount ELSE 0 END),
  SUM(CASE WHEN due_date < :d30 AND due_date >= :d60 THEN open_base_amount ELSE 0 END),
  SUM(CASE WHEN due_date < :d60 AND due_date >= :d90 THEN open_base_amount ELSE 0 END),
  SUM(CASE WHEN due_date < :d90 THEN open_base_amount ELSE 0 END),
  SUM(open_base_amount)
FROM {table} WHERE kind = 'sales' AND state IN ('issued', 'partially_paid') GROUP BY customer"""


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run(name: str, url: str, args: argparse.Namespace) -> None:
    from jimu.core import clock
    from jimu.platform.actor import Actor
    from jimu.runtime.access import AccessPolicy
    from jimu.runtime.context import Jimu
    from jimu.runtime.money.aging import cutoffs
    from jimu.runtime.money.report import aging_report
    from jimu.templates_market.installer import install_cbu

    jimu = Jimu.open(url)
    install_cbu(jimu, APP, "payment", {}, sample_data=False)
    t0 = time.perf_counter()
    load(jimu, args.invoices, args.payments)
    load_s = time.perf_counter() - t0
    if name == "postgresql":
        with jimu.db.write() as c:
            c.exec_driver_sql("ANALYZE")
    previous = clock.set_clock(clock.ManualClock(frozen=datetime.combine(TODAY, datetime.min.time(), UTC)))
    try:
        policy = AccessPolicy.for_actor(jimu, APP, Actor("finance", ("finance",)))
        report_s, report = timed(lambda: aging_report(policy, "receivable"), args.repeat)
        d30, d60, d90 = cutoffs(TODAY)
        sql = sa.text(HAND.format(table=jimu.apps.get(APP).tables("invoice").name))

        def hand() -> list[Any]:
            with jimu.db.read() as c:
                return list(c.execute(sql, {"d30": d30, "d60": d60, "d90": d90}).all())

        hand_s, rows = timed(hand, args.repeat)
    finally:
        clock.set_clock(previous)
    cents = Decimal("0.01")
    hand_rows = {int(r[0]): [Decimal(str(v)).quantize(cents) for v in r[1:]] for r in rows}
    ours = {int(r["partner"]): [Decimal(r[k]) for k in ("0-30", "31-60", "61-90", "90+", "total")]
            for r in report["data"]}
    emit("aging.report", report_s * 1000, "ms", "hand-written SQL of the same buckets", hand_s * 1000,
         backend=name, invoices=args.invoices, payments=args.payments, partners=len(ours),
         same_figures=ours == hand_rows, target_ms=1000 if name == "postgresql" else 2000,
         load_s=round(load_s, 1))
    jimu.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--payments", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    for name, url, schema in backends():
        try:
            run(name, url, args)
        finally:
            if schema:
                drop_pg_schema(schema)


if __name__ == "__main__":
    main()
