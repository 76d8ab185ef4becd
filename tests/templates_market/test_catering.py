"""The catering template: standard's stable names, food's batches (industry catering), and
dish sales, store requisitions and kitchen production that move ingredients batch by
batch, first-expiry-first-out, through ledger postings only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from jimu.core import clock
from jimu.core.errors import StockConflict, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import as_ledger, balances, verify
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "ct"
MANAGER = Actor("mgr", ("manager",))
WH = Actor("wh", ("warehouse",))
CASHIER = Actor("cashier", ("sales",))


@pytest.fixture
def jimu(db_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The market tests' Jimu; for a test using ``ct``, on a copy of the database
    :func:`_catering` built once per worker and day (tests.dbcache)."""
    from tests.dbcache import open_for
    from tests.templates_market.conftest import FIXTURE_CBUS

    yield from open_for(request, db_url, {"ct": (ct, _catering)}, salt=str(clock.today()),
                        cbu_paths=[str(FIXTURE_CBUS)])


@pytest.fixture
def ct(jimu: Any) -> dict[str, Any]:
    from tests.dbcache import built

    return {**built(jimu), "engine": WorkflowEngine(jimu)}


def _catering(jimu: Any) -> dict[str, Any]:
    """The catering app with a kitchen, a store, items, dated batches in stock and active BOMs."""
    install_template(jimu, APP, "catering", sample_data=False)
    rec = jimu.records
    ids: dict[str, Any] = {"engine": WorkflowEngine(jimu)}
    ids["kitchen"] = rec.create(APP, "warehouse", {"name": "Kitchen", "confirm_code": "1", "site_type": "central_kitchen"})["id"]
    ids["store"] = rec.create(APP, "warehouse", {"name": "Store", "confirm_code": "2", "site_type": "store"})["id"]
    for sku in ("BEEF", "NOODLE", "SEMI", "DISH", "SALAD"):
        ids[sku] = rec.create(APP, "item", {"sku": sku, "name": sku.title()})["id"]
    today = clock.today()
    for key, sku, days in (("beef_a", "BEEF", 10), ("beef_b", "BEEF", 5), ("beef_old", "BEEF", -1),
                           ("semi_x", "SEMI", 3), ("semi_y", "SEMI", 1), ("noodle", "NOODLE", 2)):
        ids[key] = rec.create(APP, "batch", {"item": ids[sku], "batch_no": key.upper(),
                                             "expiry_date": (today + timedelta(days=days)).isoformat()})["id"]
    for batch, sku, wh, qty in (("beef_a", "BEEF", "kitchen", 30), ("beef_b", "BEEF", "kitchen", 5),
                                ("beef_old", "BEEF", "kitchen", 10), ("semi_x", "SEMI", "store", 4),
                                ("semi_y", "SEMI", "store", 2), ("noodle", "NOODLE", "store", 15)):
        rec.create(APP, "stock_adjustment", {"item": ids[sku], "warehouse": ids[wh], "batch": ids[batch], "qty": qty,
                                             "reason": "opening"})
    for product, out, lines in (("SEMI", 10, {"BEEF": 12}), ("DISH", 1, {"SEMI": "0.15", "NOODLE": "0.2"})):
        bom = rec.create(APP, "bom", {"product": ids[product], "qty": out,
                                      "lines": [{"item": ids[k], "qty": v} for k, v in lines.items()]})
        ids["engine"].fire(APP, "bom", bom["id"], "activate", actor=MANAGER)
    del ids["engine"]
    return ids


def _by_batch(jimu: Any, ct: dict[str, Any], sku: str, wh: str, bucket: str = "on_hand") -> dict[Any, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        rows = balances(c, APP, lg, item=ct[sku], warehouse=ct[wh])
    return {r["batch"]: r[bucket] for r in rows if r[bucket]}


def test_catering_extends_standard_and_food(jimu: Any, ct: dict[str, Any]) -> None:
    spec = jimu.apps.get(APP).spec
    assert [d.name for d in spec.ledger("stock").dimensions] == ["item", "warehouse", "batch"]
    assert spec.settings["industry"] == "catering" and spec.settings["fefo"] is True
    for name in ("item", "warehouse", "customer", "supplier", "sales_order", "purchase_order", "stocktake", "batch",
                 "supplier_certificate", "bom", "work_order", "dish_sale", "dish_sale_line", "dish_sale_usage",
                 "store_requisition", "store_requisition_line", "store_requisition_issue"):
        ent = spec.entity(name)
        assert ent is not None and ent.label.zh and ent.label.en, name
        assert all(f.label.zh and f.label.en for f in ent.fields), name
    wf = spec.workflow_for("sales_order")
    # the stable names (DESIGN 12); units may add more (the invoice unit adds create_invoice)
    assert {t.name for t in wf.transitions} >= {"submit", "approve", "reject", "ship", "complete", "cancel"}
    assert {r.name for r in spec.roles} == {"admin", "sales", "warehouse", "purchasing", "finance", "manager", "vp"}
    postings = {p.name: p for p in spec.ledger("stock").postings}
    assert postings["so_ship"].model_extra["allocate"] == "fefo"
    assert postings["wo_reserve"].model_extra["allocate"] == "fefo"
    assert postings["dish_consume"].kind == "ship"


def test_dish_sale_consumes_ingredients_first_expiry_first_out(jimu: Any, ct: dict[str, Any]) -> None:
    eng = ct["engine"]
    sale = jimu.records.create(APP, "dish_sale", {"store": ct["store"], "lines": [
        {"dish": ct["DISH"], "qty": 20, "price": "32"}]}, actor=CASHIER)
    assert sale["amount"] == Decimal("640.00")
    posted = eng.fire(APP, "dish_sale", sale["id"], "post", actor=CASHIER)
    assert posted["state"] == "posted"
    assert {(u["item"], u["qty"]) for u in posted["usage"]} == {(ct["SEMI"], 3), (ct["NOODLE"], 4)}
    # each ingredient line says which batches it took (semi_y expires first: 2, then 1 of semi_x)
    assert {u["item"]: [(a["batch"], Decimal(a["qty"])) for a in u["allocations"]] for u in posted["usage"]} == {
        ct["SEMI"]: [(ct["semi_y"], 2), (ct["semi_x"], 1)], ct["NOODLE"]: [(ct["noodle"], 4)]}
    # 3 kg of braised beef: the 2 kg expiring tomorrow first, then 1 kg of the later batch
    assert _by_batch(jimu, ct, "SEMI", "store") == {ct["semi_x"]: 3}
    assert _by_batch(jimu, ct, "NOODLE", "store") == {ct["noodle"]: 11}
    too_many = jimu.records.create(APP, "dish_sale", {"store": ct["store"], "lines": [
        {"dish": ct["DISH"], "qty": 100, "price": "32"}]}, actor=CASHIER)
    with pytest.raises(StockConflict):
        eng.fire(APP, "dish_sale", too_many["id"], "post", actor=CASHIER)
    assert jimu.records.get(APP, "dish_sale", too_many["id"])["state"] == "draft"
    assert _by_batch(jimu, ct, "SEMI", "store") == {ct["semi_x"]: 3}
    no_recipe = jimu.records.create(APP, "dish_sale", {"store": ct["store"], "lines": [
        {"dish": ct["SALAD"], "qty": 1, "price": "18"}]}, actor=CASHIER)
    with pytest.raises(ValidationError) as err:
        eng.fire(APP, "dish_sale", no_recipe["id"], "post", actor=CASHIER)
    assert err.value.code == "catering.no_recipe"
    assert verify(jimu.db, APP) == []


def test_store_recording_shortfalls_takes_what_the_book_has_and_flags_the_rest(jimu: Any, ct: dict[str, Any]) -> None:
    """A store with ``oversell_policy: record_shortfall`` posts a sale its book cannot cover:
    SEMI on the book 6 (semi_x 4 + semi_y 2), 50 dishes need 50 x 0.15 = 7.5, so 6 are
    consumed and 1.5 flagged; NOODLE needs 50 x 0.2 = 10 of 15, no shortfall. The next count
    of the store lists SEMI (book 0, skipped otherwise) with 1.5 and closes it at post.

    Mutation tried: ``_beyond_the_book`` returning every row whole (the policy ignored): the
    post is refused with 409 and nothing is flagged."""
    eng = ct["engine"]
    jimu.records.update(APP, "warehouse", ct["store"], {"oversell_policy": "record_shortfall"})
    sale = jimu.records.create(APP, "dish_sale", {"store": ct["store"], "lines": [
        {"dish": ct["DISH"], "qty": 50, "price": "32"}]}, actor=CASHIER)
    posted = eng.fire(APP, "dish_sale", sale["id"], "post", actor=CASHIER)
    assert posted["state"] == "posted"
    assert {u["item"]: (u["qty"], u["shortfall"]) for u in posted["usage"]} == {
        ct["SEMI"]: (Decimal(6), Decimal("1.5")), ct["NOODLE"]: (Decimal(10), None)}
    assert _by_batch(jimu, ct, "SEMI", "store") == {} and _by_batch(jimu, ct, "NOODLE", "store") == {ct["noodle"]: 5}
    flagged = jimu.records.list(APP, "stock_shortfall").data
    assert [(f["store"], f["item"], f["qty"], f["dish_sale"], f["state"]) for f in flagged] == [
        (ct["store"], ct["SEMI"], Decimal("1.5"), sale["id"], "open")]
    count = jimu.records.create(APP, "stocktake", {"warehouse": ct["store"]}, actor=WH)
    started = eng.fire(APP, "stocktake", count["id"], "start", actor=WH)
    lines = {ln["item"]: ln for ln in started["stocktake_line"]}
    assert (lines[ct["SEMI"]]["system_qty"], lines[ct["SEMI"]]["shortfall_qty"]) == (0, Decimal("1.5"))
    assert (lines[ct["NOODLE"]]["system_qty"], lines[ct["NOODLE"]]["shortfall_qty"]) == (5, 0)
    jimu.records.update(APP, "stocktake", count["id"], {"stocktake_line": [
        {"id": ln["id"], "counted_qty": ln["system_qty"]} for ln in started["stocktake_line"]]}, actor=WH)
    eng.fire(APP, "stocktake", count["id"], "submit_count", actor=WH)
    eng.fire(APP, "stocktake", count["id"], "post", actor=MANAGER)
    closed = jimu.records.get(APP, "stock_shortfall", flagged[0]["id"])
    assert (closed["state"], closed["stocktake"]) == ("counted", count["id"])
    assert verify(jimu.db, APP) == []


def test_store_requisition_moves_the_kitchens_batches(jimu: Any, ct: dict[str, Any]) -> None:
    eng = ct["engine"]
    req = jimu.records.create(APP, "store_requisition", {"store": ct["store"], "kitchen": ct["kitchen"],
                                                         "lines": [{"item": ct["BEEF"], "qty": 8}]}, actor=WH)
    eng.fire(APP, "store_requisition", req["id"], "submit", actor=WH)
    issued = eng.fire(APP, "store_requisition", req["id"], "issue", actor=WH)
    # The expired batch is skipped; the one expiring in 5 days goes before the 10-day one.
    assert {(r["batch"], r["qty"]) for r in issued["issued"]} == {(ct["beef_b"], 5), (ct["beef_a"], 3)}
    assert _by_batch(jimu, ct, "BEEF", "kitchen") == {ct["beef_a"]: 27, ct["beef_old"]: 10}
    assert _by_batch(jimu, ct, "BEEF", "kitchen", "in_transit") == {ct["beef_b"]: 5, ct["beef_a"]: 3}
    eng.fire(APP, "store_requisition", req["id"], "receive", actor=WH)
    assert _by_batch(jimu, ct, "BEEF", "store") == {ct["beef_b"]: 5, ct["beef_a"]: 3}
    assert _by_batch(jimu, ct, "BEEF", "kitchen", "in_transit") == {}
    assert verify(jimu.db, APP) == []


def test_dish_sales_draw_from_their_channel_pool(jimu: Any, ct: dict[str, Any]) -> None:
    """NOODLE at the store (15) split dine-in 2 : takeaway 1 -> 10 and 5. A takeaway sale of 30
    bowls needs 30 x 0.2 = 6 > 5: refused whole (409 naming the channel), nothing moves. 30
    dine-in bowls take 6 of dine-in's 10 (4 left); 10 takeaway bowls take 2 of 5 (3 left).

    Mutation tried: ``_draw_channel`` returning at once (one shared pool): the takeaway sale
    of 30 posts and takes dine-in's noodles."""
    from jimu.runtime.stock.channels import configure_channels, pools

    eng = ct["engine"]
    lg = as_ledger(jimu.apps.get(APP).spec.ledger("stock"))
    with jimu.db.write() as c:
        configure_channels(c, APP, lg, ct["NOODLE"], ct["store"], {"dine_in": {"weight": 2}, "takeaway": {"weight": 1}})

    def allotted() -> dict[str, Decimal]:
        with jimu.db.read() as c:
            return {p["channel"]: p["allotted"] for p in pools(c, APP, lg, item=ct["NOODLE"], warehouse=ct["store"])}

    assert allotted() == {"dine_in": 10, "takeaway": 5}

    def sale(channel: str, bowls: int) -> dict[str, Any]:
        return jimu.records.create(APP, "dish_sale", {"store": ct["store"], "channel": channel, "lines": [
            {"dish": ct["DISH"], "qty": bowls, "price": "32"}]}, actor=CASHIER)

    big = sale("takeaway", 30)
    with pytest.raises(StockConflict) as err:
        eng.fire(APP, "dish_sale", big["id"], "post", actor=CASHIER)
    assert err.value.extra["channel"] == "takeaway" and err.value.extra["why"] == "short"
    assert allotted() == {"dine_in": 10, "takeaway": 5} and _by_batch(jimu, ct, "NOODLE", "store") == {ct["noodle"]: 15}
    eng.fire(APP, "dish_sale", sale("dine_in", 30)["id"], "post", actor=CASHIER)
    assert allotted() == {"dine_in": 4, "takeaway": 5}
    eng.fire(APP, "dish_sale", sale("takeaway", 10)["id"], "post", actor=CASHIER)
    assert allotted() == {"dine_in": 4, "takeaway": 3}
    assert _by_batch(jimu, ct, "NOODLE", "store") == {ct["noodle"]: 7}  # 15 - 6 - 2
    assert verify(jimu.db, APP) == []


def test_short_delivery_on_a_requisition_opens_a_discrepancy_per_batch(jimu: Any, ct: dict[str, Any]) -> None:
    """8 BEEF issued as beef_b 5 + beef_a 3; the store counts 5 and 1: beef_a arrives 1 of 3
    (difference -2, left in transit as transfer_short, never booked at the store), the line
    shows 6 received.

    Mutation tried: ``requisition_receive`` ignoring ``receipts`` (everything arrives): the
    store holds 3 of beef_a and no discrepancy is opened."""
    from jimu.runtime.stock.transfers import discrepancies

    eng = ct["engine"]
    req = jimu.records.create(APP, "store_requisition", {"store": ct["store"], "kitchen": ct["kitchen"],
                                                         "lines": [{"item": ct["BEEF"], "qty": 8}]}, actor=WH)
    eng.fire(APP, "store_requisition", req["id"], "submit", actor=WH)
    issued = eng.fire(APP, "store_requisition", req["id"], "issue", actor=WH)["issued"]
    row = {r["batch"]: r["id"] for r in issued}
    done = eng.fire(APP, "store_requisition", req["id"], "receive", actor=WH, inputs={"receipts": [
        {"line": row[ct["beef_a"]], "received_qty": "1"}]})
    assert done["state"] == "received"
    assert {r["batch"]: r["received_qty"] for r in done["issued"]} == {ct["beef_b"]: 5, ct["beef_a"]: 1}
    assert [ln["received_qty"] for ln in done["lines"]] == [6]
    assert _by_batch(jimu, ct, "BEEF", "store") == {ct["beef_b"]: 5, ct["beef_a"]: 1}
    assert _by_batch(jimu, ct, "BEEF", "kitchen", "in_transit") == {}
    lg = as_ledger(jimu.apps.get(APP).spec.ledger("stock"))
    with jimu.db.read() as c:
        found = discrepancies(c, APP, lg, transfer=req["id"], entity="store_requisition")
    assert [(d["transfer"]["line"], d["sent"], d["received"], d["difference"], d["state"]) for d in found] == [
        (str(row[ct["beef_a"]]), 3, 1, -2, "open")]
    assert verify(jimu.db, APP) == []


def test_kitchen_production_issues_fefo_and_receives_a_new_batch(jimu: Any, ct: dict[str, Any]) -> None:
    eng = ct["engine"]
    expiry = (clock.today() + timedelta(days=3)).isoformat()
    wo = jimu.records.create(APP, "work_order", {"product": ct["SEMI"], "qty": 10, "warehouse": ct["kitchen"],
                                                 "batch_no": "CK-1", "expiry_date": expiry}, actor=MANAGER)
    released = eng.fire(APP, "work_order", wo["id"], "release", actor=MANAGER)
    assert _by_batch(jimu, ct, "BEEF", "kitchen", "reserved") == {ct["beef_b"]: 5, ct["beef_a"]: 7}
    taken = [(ct["beef_b"], 5), (ct["beef_a"], 7)]
    assert [[(a["batch"], Decimal(a["qty"])) for a in c["allocations"]] for c in released["components"]] == [taken]
    started = eng.fire(APP, "work_order", wo["id"], "start", actor=WH)
    assert [[(a["batch"], Decimal(a["qty"])) for a in c["allocations"]] for c in started["components"]] == [taken]
    assert _by_batch(jimu, ct, "BEEF", "kitchen") == {ct["beef_a"]: 23, ct["beef_old"]: 10}
    eng.fire(APP, "work_order", wo["id"], "complete", actor=WH)
    batch = jimu.records.list(APP, "batch", filter='batch_no == "CK-1"').data[0]
    assert batch["item"] == ct["SEMI"] and batch["expiry_date"].isoformat() == expiry
    assert _by_batch(jimu, ct, "SEMI", "kitchen") == {batch["id"]: 10}
    assert verify(jimu.db, APP) == []


def test_fefo_off_is_flagged_for_catering(jimu: Any, ct: dict[str, Any]) -> None:
    from jimu.platform import health
    from jimu.templates_market.health_context import scan_context_for

    draft = jimu.store.draft(APP)
    draft.settings["fefo"] = False
    jimu.store.save_draft(APP, draft, author="admin")
    report = health.run_scan(scan_context_for(jimu, APP))
    assert any(f.rule == "DF-04" for f in report.findings)


def test_catering_demo_sample_data(jimu: Any) -> None:
    """The demo is the restaurant's own data: 9 ingredients, semi-finished goods and dishes,
    a central kitchen and two stores, 3 suppliers; none of the standard units' groceries.

    Mutation tried: the installer ignoring a template unit's ``sample_data: false``: the
    grocery catalogue comes back (items far above 9, warehouses above 3)."""
    result = install_template(jimu, "demo", "catering", sample_data=True)
    assert result.sample_rows["bom"] == 3 and result.sample_rows["dish_sale"] == 1
    assert (result.sample_rows["item"], result.sample_rows["warehouse"], result.sample_rows["supplier"]) == (9, 3, 3)
    assert "customer" not in result.sample_rows and "sales_order" not in result.sample_rows
    skus = {r["sku"] for r in jimu.records.list("demo", "item", limit=100).data}
    assert all(s.startswith(("CT-", "SEMI-", "DISH-")) for s in skus) and len(skus) == 9
    sites = {r["name"]: r["site_type"] for r in jimu.records.list("demo", "warehouse", limit=100).data}
    assert sites == {"中央厨房(嘉定)": "central_kitchen", "人民广场店": "store", "徐家汇店": "store"}
    eng = WorkflowEngine(jimu)
    sale = jimu.records.list("demo", "dish_sale").data[0]
    assert eng.fire("demo", "dish_sale", sale["id"], "post", actor=CASHIER)["state"] == "posted"
    req = jimu.records.list("demo", "store_requisition").data[0]
    for t in ("submit", "issue", "receive"):
        eng.fire("demo", "store_requisition", req["id"], t, actor=WH)
    wo = jimu.records.list("demo", "work_order").data[0]
    for t in ("release", "start", "complete"):
        eng.fire("demo", "work_order", wo["id"], t, actor=MANAGER)
    assert verify(jimu.db, "demo") == []
