"""A textbook two-level MRP world for the planner's grid tests, in a discrete
manufacturing app without sample data, served by the whole Jimu app (API and screens).

Run 2026-01-05, horizon 42 days in weekly buckets b0..b5 (01-05, 01-12, 01-19, 01-26,
02-02, 02-09), warehouse W.

- A (make, BOM: 2 B per A, lead time 7 days, safety 0, on hand 10).
  Demands: SO1 15 on 01-19 (b2), SO2 20 on 02-02 (b4), SO3 5 on 02-10 (b5).
  Scheduled receipt: draft work order WO 5 of A, planned 01-05 .. 01-12 (b1).
- B (buy from its default supplier, lead time 14 days, safety 5, multiple 50, on hand 20).
  Demands: WO's components (no rows yet: its BOM exploded) 5 × 2 = 10 on 01-05 (b0),
  and A's planned releases × 2.
  Scheduled receipt: purchase order PO 30 of B expected 01-21 (b2).

A by hand (lot for lot):
  b0: 10; b1: 10 + 5 = 15; b2: 15 − 15 = 0; b3: 0;
  b4: 0 − 20 = −20 -> planned 20 due 02-02, released 01-26 (b3); net 20;
  b5: 0 − 5 = −5 -> planned 5 due 02-09, released 02-02 (b4); net 5.
  Pegging: on hand 10 and WO 5 cover SO1; the 20 cover SO2, the 5 cover SO3.
  WO (b1) is first needed in b2 (10 − 15 < 0): defer to 01-19.
B by hand (gross b3 = 2 × 20 = 40, b4 = 2 × 5 = 10):
  b0: 20 − 10 = 10; b1: 10; b2: 10 + 30 = 40; b3: 40 − 40 = 0 < 5 -> net 5, lot 50
  (multiple) due 01-26, released 01-12 (b1): projected 50; b4: 50 − 10 = 40; b5: 40.
  Pegging (FIFO): on hand 20 takes safety 5, the WO's 10 and 5 of A's 40; the PO's 30
  take 30 more; the planned 50 cover the last 5 of A's order due 02-02 and the 10 of A's
  order due 02-09. PO (b2) is first needed in b3 (20 − 10 − 40 < 5): defer to 01-26.
RICE (no BOM, no default supplier, nothing on hand) has a sales order of 7 at W on 01-19:
  not planned by the run; its grid shows no demand and no orders.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.testclient import TestClient

from jimu.platform.actor import Actor
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template
from tests.bearer import BearerClient

APP = "plant"
MANAGER = Actor("manager", ("manager",))
SALES = Actor("sales", ("sales",))
BUYER = Actor("purchasing", ("purchasing",))
RUN_DATE = date(2026, 1, 5)


def build(jimu: Any, a_name: str = "Bike", app: str = APP, clients: bool = True) -> dict[str, Any]:
    """The world of the module docstring in ``app``, the run calculated; ids by name and
    (with ``clients``) a TestClient of the whole Jimu app and a BearerClient on it."""
    from jimu.cli.basics import ensure_demo_users
    from jimu.runtime.api.app import create_app

    APP = app  # noqa: N806 - the module's default app name, or the one asked for
    ensure_demo_users(jimu)
    install_template(jimu, APP, "discrete_manufacturing", sample_data=False)
    rec, eng = jimu.records, WorkflowEngine(jimu)
    w = rec.create(APP, "warehouse", {"name": "Plant W", "confirm_code": "1111"})["id"]
    sup = rec.create(APP, "supplier", {"name": "Parts Co"})["id"]
    cust = rec.create(APP, "customer", {"name": "Bike shop"})["id"]
    a = rec.create(APP, "item", {"sku": "A", "name": a_name, "lead_time_days": 7})["id"]
    b = rec.create(APP, "item", {"sku": "B", "name": "Wheel", "lead_time_days": 14, "safety_stock": 5,
                                 "order_multiple": 50, "default_supplier": sup})["id"]
    for item, qty in ((a, 10), (b, 20)):
        rec.create(APP, "stock_adjustment", {"item": item, "warehouse": w, "qty": qty, "reason": "opening"})
    bom = rec.create(APP, "bom", {"product": a, "qty": 1, "lines": [{"item": b, "qty": 2}]})
    eng.fire(APP, "bom", bom["id"], "activate", actor=MANAGER)
    sos = [rec.create(APP, "sales_order", {"customer": cust, "warehouse": w, "delivery_date": on,
                                           "lines": [{"item": a, "qty": qty, "price": "100"}]}, actor=SALES)
           for qty, on in ((15, date(2026, 1, 19)), (20, date(2026, 2, 2)), (5, date(2026, 2, 10)))]
    # a grocery item sold from W: in no BOM, no default supplier -> MRP does not plan it
    rice = rec.create(APP, "item", {"sku": "RICE", "name": "Rice"})["id"]
    rec.create(APP, "sales_order", {"customer": cust, "warehouse": w, "delivery_date": date(2026, 1, 19),
                                    "lines": [{"item": rice, "qty": 7, "price": "3"}]}, actor=SALES)
    wo = rec.create(APP, "work_order", {"product": a, "qty": 5, "warehouse": w, "planned_start": RUN_DATE,
                                        "planned_end": date(2026, 1, 12)}, actor=MANAGER)
    po = rec.create(APP, "purchase_order", {"supplier": sup, "warehouse": w, "expected_date": date(2026, 1, 21),
                                            "lines": [{"item": b, "qty": 30, "price": "1"}]}, actor=BUYER)
    run = rec.create(APP, "mrp_run", {"warehouse": w, "run_date": RUN_DATE, "horizon_days": 42, "bucket": "week"},
                     actor=BUYER)
    eng.fire(APP, "mrp_run", run["id"], "calculate", actor=BUYER)
    client = TestClient(create_app(jimu), follow_redirects=False) if clients else None
    return {"w": w, "sup": sup, "a": a, "b": b, "rice": rice, "sos": sos, "wo": wo, "po": po, "run": rec.get(APP, "mrp_run", run["id"]),
            "client": client, "api": BearerClient(client) if client else None, "eng": eng, "app": app}


def screen_client(world: dict[str, Any], user: str, lang: str = "en") -> TestClient:
    """A second TestClient of the same app, signed in through the login form as ``user``."""
    from jimu.testing import form_login

    c = TestClient(world["client"].app, follow_redirects=False)
    c.cookies.set("jimu_lang", lang)
    r = form_login(c, user)
    assert r.status_code == 303, r.text[:300]
    return c
