"""The central kitchen in catering's 120-day history (both databases): the stores get the
semi-finished goods by ``store_requisition`` (issued first-expiry-first-out from the
kitchen's batches, received as the same batches), the kitchen makes them with work orders
(components reserved first-expiry-first-out, output a new batch whose genealogy reaches
the component batches), the rows are what the runtime writes (compared with the runtime
posting one more work order and requisition after the history), and the overview's
takings are the dish sales, recomputed here from the rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import SYSTEM, Actor
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import movement
from jimu.platform.ledger.verify import verify
from jimu.runtime.access import AccessPolicy
from tests.conftest import BACKENDS
from tests.templates_market.history._lived import NOW, FefoReplay, lived_demo
from tests.templates_market.history._lived import day_of as _day

APP = "catering"


@pytest.fixture(scope="module", params=BACKENDS)
def lived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The catering demo with its history, built once per backend (read only, but the last
    test, which posts one more work order and requisition through the runtime)."""
    with lived_demo(request.param, APP, tmp_path_factory) as jimu:
        yield jimu



def _utc_day(at: Any) -> date:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).date()


def _take_key(m: Any) -> tuple[Any, ...]:
    """The movements of one line's FEFO take: same document, kind, item and moment."""
    return m.doc_entity, m.doc_id, m.kind, m.dims["item"], m.at


def _sites(jimu: Any) -> tuple[int, set[int], int]:
    """The kitchen, the stores, the semi-finished item (卤牛肉)."""
    rt = jimu.apps.get(APP)
    wh, it = rt.tables("warehouse"), rt.tables("item")
    with jimu.db.read() as c:
        sites = c.execute(sa.select(wh.c.id, wh.c.site_type)).all()
        semi = c.execute(sa.select(it.c.id).where(it.c.sku == "SEMI-BEEF")).scalar_one()
    return (next(int(i) for i, t in sites if t == "central_kitchen"), {int(i) for i, t in sites if t == "store"},
            int(semi))


def test_the_kitchen_takes_first_expiry_first_out_and_the_stores_get_the_same_batches(lived: Any) -> None:
    """Replayed in posting order: every work order component's reservation and every
    requisition item's issue takes the kitchen's batches that ``fefo_order`` gives first
    among the released ones not expired that day with stock (each but the last taken
    whole); each issued row is one ``transfer_out`` (kitchen, transition and reason
    ``issue``) on that row, and a received requisition lands each issued batch at its store
    (a ``transfer_in`` pair: -in transit at the kitchen, +on hand at the store, same batch),
    so nothing stays in transit; the stores never buy the semi-finished good. Mutations
    tried: issuing last-expiry-first (``CentralKitchen._requisition`` taking the kitchen's
    batches in reversed ``Lot.fefo`` order), and a store's copy of a kitchen batch left
    without the kitchen batch's id (``write_history`` not copying ``origin.id``: the
    store's ``transfer_in`` names batch 0): both fail here."""
    jimu = lived
    assert verify(jimu.db, APP) == []
    kitchen, stores, semi = _sites(jimu)
    rt = jimu.apps.get(APP)
    bt, rq, rqi = rt.tables("batch"), rt.tables("store_requisition"), rt.tables("store_requisition_issue")
    po, pol = rt.tables("purchase_order"), rt.tables("purchase_order_line")
    with jimu.db.read() as c:
        moves = c.execute(sa.select(movement).where(movement.c.app == APP, movement.c.ledger == "stock")
                          .order_by(movement.c.at, movement.c.id)).all()
        batches = c.execute(sa.select(bt.c.id, bt.c.expiry_date, bt.c.quality_status)).all()
        reqs = {int(r.id): r for r in c.execute(sa.select(rq))}
        issued = {int(r.id): r for r in c.execute(sa.select(rqi))}
        bought = c.execute(sa.select(po.c.warehouse).select_from(pol.join(po, po.c.id == pol.c._parent_id))
                           .where(pol.c.item == semi)).scalars().all()
    assert bought == []
    expiry = {int(b): _day(e) for b, e, _ in batches}
    status = {int(b): str(s) for b, _, s in batches}
    replay = FefoReplay()
    avail = replay.avail
    in_transit: dict[str, int] = {}
    groups = {"work_order": 0, "store_requisition": 0}
    i = 0
    while i < len(moves):
        m = moves[i]
        takes = (m.doc_entity, m.kind) in (("work_order", "reserve"), ("store_requisition", "transfer_out"))
        if not takes:
            replay.count(m)
            if m.doc_entity == "store_requisition":
                in_transit[m.doc_id] = in_transit.get(m.doc_id, 0) + m.d_in_transit
                assert m.kind == "transfer_in" and m.transition == "receive" and m.reason is None
                row = issued[int(m.doc_line)]
                req = reqs[int(row._parent_id)]
                assert int(m.dims["batch"]) == int(row.batch) and int(m.dims["item"]) == int(row.item)
                assert int(m.dims["warehouse"]) == (int(req.store) if m.d_on_hand else int(req.kitchen))
            i += 1
            continue
        group = [m]
        while i + len(group) < len(moves) and _take_key(moves[i + len(group)]) == _take_key(m):
            group.append(moves[i + len(group)])
        item, wh = int(m.dims["item"]), int(m.dims["warehouse"])
        assert wh == kitchen
        day = _utc_day(m.at)
        eligible = replay.eligible(item, wh, day, expiry, status)
        taken = [(int(g.dims["batch"]), g.d_reserved or -g.d_on_hand) for g in group]
        assert [b for b, _ in taken] == [b for b, _ in eligible[:len(taken)]], (m.doc_entity, m.doc_id, taken)
        assert all(q == eligible[n][1] for n, (_, q) in enumerate(taken[:-1]))
        if m.doc_entity == "store_requisition":
            for g in group:
                row = issued[int(g.doc_line)]
                assert (g.transition, g.reason, g.d_in_transit) == ("issue", "issue", -g.d_on_hand)
                assert int(row.batch) == int(g.dims["batch"]) and int(row._parent_id) == int(g.doc_id)
                in_transit[g.doc_id] = in_transit.get(g.doc_id, 0) + g.d_in_transit
        for b, q in taken:
            avail[(item, wh, b)] -= q
        groups[m.doc_entity] += 1
        i += len(group)
    assert groups["work_order"] > 200 and groups["store_requisition"] > 200
    received = {str(k) for k, r in reqs.items() if r.state == "received"}
    assert len(received) > 200 and {int(r.store) for r in reqs.values()} == stores
    assert all(in_transit.get(k, 0) == 0 for k in received)
    pending = [r for r in reqs.values() if r.state == "submitted"]  # asked for this evening, for tomorrow
    assert {int(r.store) for r in pending} == stores
    assert all(_day(r.request_date) == NOW.date() + timedelta(days=1) for r in pending)
    assert not {int(r._parent_id) for r in issued.values()} & {int(r.id) for r in pending}


def test_work_orders_make_batches_whose_genealogy_reaches_the_components(lived: Any) -> None:
    """Every completed kitchen work order: its components are one level of the recipe for
    its quantity (``bom.explode``), each component's ``allocations`` are what
    ``allocations_of`` reads from its movements (reserve at ``release``, ``ship`` at
    ``start``), the output is received (``complete``) into the batch the order names,
    produced that day and expiring after the item's shelf life, and the genealogy walk up
    from that batch reaches exactly the component batches; the stores sell from batches
    the kitchen made. Mutations tried: the output batch without an expiry
    (``CentralKitchen._make`` ignoring the shelf life) and the completion posted on another
    document (``write_work_orders`` receiving on ``wo.id + 1``, which also cuts the
    genealogy) both fail here."""
    from jimu.cbu_library.bom.actions import active_boms, explode
    from jimu.runtime.stock.allocations import allocations_of
    from jimu.runtime.stock.genealogy import walk

    jimu = lived
    kitchen, stores, semi = _sites(jimu)
    rt = jimu.apps.get(APP)
    lspec = rt.spec.ledger("stock")
    lg = as_ledger(lspec)
    wo, woc, bt, it = rt.tables("work_order"), rt.tables("work_order_component"), rt.tables("batch"), rt.tables("item")
    with jimu.db.read() as c:
        recipe = active_boms(jimu, c, APP)[semi]
        shelf = c.execute(sa.select(it.c.shelf_life_days).where(it.c.id == semi)).scalar_one()
        done = c.execute(sa.select(wo).where(wo.c.state == "completed").order_by(wo.c.id)).all()
        assert len(done) > 100
        made: set[int] = set()
        for w in done:
            assert (int(w.product), int(w.warehouse), Decimal(w.completed_qty)) == (semi, kitchen, Decimal(w.qty))
            comps = c.execute(sa.select(woc).where(woc.c._parent_id == w.id).order_by(woc.c._idx)).all()
            assert [(int(r.item), Decimal(r.qty)) for r in comps] == \
                [(i, q.quantize(Decimal("0.0001"))) for i, q in explode(recipe, w.qty)]
            taken = allocations_of(c, APP, lspec, "work_order", w.id)
            parts = set()
            for r in comps:
                alloc = [(int(a["batch"]), Decimal(a["qty"])) for a in r.allocations]
                assert alloc == [(int(b), Decimal(lg.to_qty(u))) for b, u in taken.get(str(r.id), [])]
                assert sum(q for _, q in alloc) == Decimal(r.qty)
                parts |= {str(b) for b, _ in alloc}
            out = c.execute(sa.select(bt).where(bt.c.item == semi, bt.c.batch_no == w.batch_no)).one()
            assert _day(out.production_date) == _day(w.production_date)
            assert _day(out.expiry_date) == _day(w.production_date) + timedelta(days=int(shelf))
            got = c.execute(sa.select(movement.c.dims, movement.c.d_on_hand, movement.c.transition).where(
                movement.c.app == APP, movement.c.doc_entity == "work_order", movement.c.doc_id == str(w.id),
                movement.c.kind == "receipt")).all()
            assert [(int(d["batch"]), q, t) for d, q, t in got] == \
                [(int(out.id), int(lg.to_units(w.completed_qty)), "complete")]
            if len(made) < 12:  # the walk is a few queries per batch: a dozen orders say it
                up = walk(c, APP, lg, rt.spec, out.id, "up")
                assert set(up.next_of(str(out.id))) == parts, w.id
            made.add(int(out.id))
        sold = c.execute(sa.select(movement.c.dims).where(
            movement.c.app == APP, movement.c.doc_entity == "dish_sale", movement.c.kind == "ship")).scalars().all()
    sold_semi = {(int(d["warehouse"]), int(d["batch"])) for d in sold if int(d["item"]) == semi}
    assert {w for w, _ in sold_semi} == stores and len({b for _, b in sold_semi} & made) > 100


def test_the_overview_shows_the_stores_takings(lived: Any) -> None:
    """The catering overview (``inventory_dashboards`` with ``takings: dish_sale``) shows
    this month's takings, the stores' takings and the takings per channel, each equal to
    the posted dish sales' lines (qty x price, to the cent) summed by hand, and none of the
    sales-order charts a restaurant would read ¥0 from. Mutations tried: the catering
    template installing ``inventory_dashboards`` without ``takings: dish_sale`` (本月销售额
    ¥0.00 is back), the KPI without its this-month filter (all 120 days counted), and
    ``dish_sales_by_store`` without its ``state == "posted"`` filter (the sample's draft
    sale counted): all three fail here. The stores' dashboard lists the two requisitions
    asked for this evening (to issue tomorrow morning); the generator not asking for
    tomorrow's (no extra ``CentralKitchen.day`` after the last day) fails here."""
    from jimu.runtime.screens.dash_spec import spec_dashboard

    jimu = lived
    manager = AccessPolicy.for_actor(jimu, APP, Actor("manager", ("manager",)))
    dash = next(d for d in manager.rt.spec.dashboards if d.name == "overview")
    charts = {ch["label"]: ch for ch in spec_dashboard(manager, dash, "zh")}
    assert "本月销售额" not in charts and "客户销售额 Top 10" not in charts and "订单状态" not in charts
    rt = manager.rt
    ds, dl, wh = rt.tables("dish_sale"), rt.tables("dish_sale_line"), rt.tables("warehouse")
    with jimu.db.read() as c:
        rows = c.execute(sa.select(ds.c.store, ds.c.channel, ds.c.sale_date, ds.c.state, dl.c.qty, dl.c.price)
                         .select_from(dl.join(ds, ds.c.id == dl.c._parent_id))).all()
        names = dict(c.execute(sa.select(wh.c.id, wh.c.name)).all())
    month = NOW.date().replace(day=1)
    by_store: dict[str, Decimal] = {}
    by_channel: dict[str, Decimal] = {}
    this_month = Decimal(0)
    for store, channel, day, state, qty, price in rows:
        if state != "posted":
            continue
        amount = (Decimal(qty) * Decimal(price)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        by_store[names[store]] = by_store.get(names[store], Decimal(0)) + amount
        by_channel[channel] = by_channel.get(channel, Decimal(0)) + amount
        if _day(day) is not None and month <= _day(day) <= NOW.date():  # type: ignore[operator]
            this_month += amount
    assert this_month > 10000 and charts["本月营业额"]["data"] == [("本月营业额", this_month)]
    assert dict(charts["门店营业额 Top 10"]["data"]) == by_store and len(by_store) == 2
    assert dict(charts["渠道营业额"]["data"]) == {"堂食": by_channel["dine_in"], "外卖": by_channel["takeaway"]}
    assert by_channel["takeaway"] > 0
    stores = next(d for d in rt.spec.dashboards if d.name == "catering_overview")
    waiting = {ch["label"]: ch for ch in spec_dashboard(manager, stores, "zh")}["待发货要货单"]
    with jimu.db.read() as c:
        rq = rt.tables("store_requisition")
        submitted = c.execute(sa.select(sa.func.count()).select_from(rq).where(rq.c.state == "submitted")).scalar()
    assert submitted == 2 and waiting["data"] == [("待发货要货单", Decimal(submitted))]  # drawn as a count


def _shape(jimu: Any, entity: str, doc_id: int, kitchen: int) -> set[tuple[Any, ...]]:
    with jimu.db.read() as c:
        rows = c.execute(sa.select(movement).where(movement.c.app == APP, movement.c.doc_entity == entity,
                                                   movement.c.doc_id == str(doc_id))).all()
    return {(r.kind, r.transition, r.reason, r.user is not None, (r.d_on_hand > 0) - (r.d_on_hand < 0),
             (r.d_reserved > 0) - (r.d_reserved < 0), (r.d_in_transit > 0) - (r.d_in_transit < 0),
             "kitchen" if int(r.dims["warehouse"]) == kitchen else "store", r.doc_line is not None,
             r.dims.get("batch") is not None, r.reservation_id is not None, r.unit_cost is not None)
            for r in rows}


def test_a_work_order_and_a_requisition_posted_by_the_runtime_write_the_same_rows(lived: Any) -> None:
    """After the history the runtime makes 5 kg of braised beef (work order release, start,
    complete) and a store asks for 1 kg (requisition submit, issue, receive): their
    movements have the shapes of the generated ones (kinds, transitions, reasons, signs,
    which warehouse, line, batch, reservation and valuation present), their documents the
    same fields filled, the output batch the same dates, and the ledger still verifies.
    Mutations tried: the generated issue with no reason (``kitchen_rows`` writing
    ``reason=None`` on ``transfer_out``), the generated issued rows without their
    ``received_qty``, and the generated work order's components without ``allocations``
    (``production_rows._doc``): all three fail here."""
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import load_library_actions

    jimu = lived
    load_library_actions()
    kitchen, stores, semi = _sites(jimu)
    rt = jimu.apps.get(APP)
    wo, rq, bt = rt.tables("work_order"), rt.tables("store_requisition"), rt.tables("batch")
    with jimu.db.read() as c:
        old_wo = c.execute(sa.select(wo.c.id).where(wo.c.state == "completed").order_by(wo.c.id.desc())).scalar()
        old_rq = c.execute(sa.select(rq.c.id).where(rq.c.state == "received").order_by(rq.c.id.desc())).scalar()
    engine = WorkflowEngine(jimu)
    new_wo = jimu.records.create(APP, "work_order", {"product": semi, "qty": 5, "warehouse": kitchen,
                                                     "batch_no": "CK-TEST-RUNTIME"}, actor=SYSTEM)["id"]
    for t in ("release", "start", "complete"):
        engine.fire(APP, "work_order", new_wo, t)
    new_rq = jimu.records.create(APP, "store_requisition", {"store": min(stores), "kitchen": kitchen,
                                                            "lines": [{"item": semi, "qty": 1}]}, actor=SYSTEM)["id"]
    for t in ("submit", "issue", "receive"):
        engine.fire(APP, "store_requisition", new_rq, t)
    assert _shape(jimu, "work_order", new_wo, kitchen) == _shape(jimu, "work_order", old_wo, kitchen)
    assert _shape(jimu, "store_requisition", new_rq, kitchen) == _shape(jimu, "store_requisition", old_rq, kitchen)

    def filled(entity: str, rid: int) -> dict[str, Any]:
        rec = jimu.records.get(APP, entity, rid)
        skip = {"id", "version", "created_at", "updated_at", "created_by", "updated_by", "number", "note", "bom",
                "_idx"}
        return {k: (sorted({kk for row in v for kk, vv in row.items() if vv not in (None, [], "") and kk not in skip})
                    if isinstance(v, list) else v is not None) for k, v in rec.items() if k not in skip}

    assert filled("work_order", new_wo) == filled("work_order", old_wo)
    assert filled("store_requisition", new_rq) == filled("store_requisition", old_rq)
    for rid in (old_rq, new_rq):
        rec = jimu.records.get(APP, "store_requisition", rid)
        assert all(Decimal(r["received_qty"]) == Decimal(r["qty"]) for r in rec["issued"] + rec["lines"])
    with jimu.db.read() as c:
        dates = [c.execute(sa.select(bt.c.production_date, bt.c.expiry_date).select_from(
            bt.join(wo, sa.and_(wo.c.batch_no == bt.c.batch_no, wo.c.product == bt.c.item)))
            .where(wo.c.id == w)).one() for w in (old_wo, new_wo)]
    assert [(_day(e) - _day(p)).days for p, e in dates] == [3, 3]  # type: ignore[operator]
    assert verify(jimu.db, APP) == []


def test_the_kitchen_makes_what_its_components_allow_and_sends_no_more() -> None:
    """With 6 kg of beef (1.2 kg per kg made) and 1 kg of braised beef already in stock,
    two stores asking for 4 kg each get a 5 kg work order (what the beef covers) and 6 kg
    between them, first store first, taken from the older batch first; the output batch
    is produced that day and expires after its shelf life. Mutation tried: the requisitions
    not capped at what the kitchen has (``give`` left out of ``CentralKitchen.day``): the
    issue refuses (``fefo_take``: more than the batches hold)."""
    from datetime import datetime

    from jimu.templates_market.history.batchsim import Lot
    from jimu.templates_market.history.catering import fefo_take
    from jimu.templates_market.history.kitchen import CentralKitchen, Recipe

    day = date(2026, 3, 2)
    kitchen, stores, beef, semi = 1, (2, 3), 5, 7
    old = Lot(semi, kitchen, "OLD", day - timedelta(days=2), day + timedelta(days=1), on_hand=1, id=40)
    lots: dict[tuple[int, int], list[Lot]] = {(beef, kitchen): [Lot(beef, kitchen, "B", None, None, on_hand=6, id=41)],
                                              (semi, kitchen): [old]}
    made: list[Lot] = []

    def usable(key: tuple[int, int], d: date) -> Decimal:
        return sum((Decimal(x.available) for x in lots.get(key, []) if x.expiry is None or x.expiry >= d), Decimal(0))

    def new_lot(lot: Lot) -> None:
        lot.seq = len(made) + 1
        made.append(lot)
        lots.setdefault((lot.item, lot.warehouse), []).append(lot)

    ck = CentralKitchen(kitchen, stores, {semi: Recipe(9, Decimal(10), ((beef, Decimal(12)),))}, lots, {semi: 3},
                        fefo_take, usable, new_lot)
    ck.day(day, {(2, semi): Decimal(4), (3, semi): Decimal(4)}, datetime(2026, 3, 3, tzinfo=UTC))
    [wo] = ck.work_orders
    assert (wo.qty, [(ln.item, ln.qty) for ln in wo.components]) == (5, [(beef, Decimal("6.0"))])
    assert wo.lot is not None and (wo.lot.production, wo.lot.expiry) == (day, day + timedelta(days=3))
    assert [(rq.store, rq.lines, [(lot.batch_no, q) for _n, lot, q in rq.issued]) for rq in ck.requisitions] == [
        (2, [(semi, Decimal(4))], [("OLD", 1), (wo.lot.batch_no, 3)]),
        (3, [(semi, Decimal(2))], [(wo.lot.batch_no, 2)])]
    assert [(lot.warehouse, lot.on_hand) for rq in ck.requisitions for lot in rq.landed] == [(2, 1), (2, 3), (3, 2)]
