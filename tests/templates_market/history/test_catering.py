"""120 days of catering history (both databases): dish sales at the stores consume their
recipes' ingredients batch by batch first-expiry-first-out, exactly as the ``post``
transition writes them (compared with the runtime itself posting a sale), purchases'
receipts create the batches, the ledger verifies, no batch ever goes below zero, and
the catering dashboard shows real figures with a weekly pattern."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import Actor
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import BUCKETS, balance, movement
from jimu.platform.ledger.verify import verify
from jimu.runtime.access import AccessPolicy
from tests.conftest import BACKENDS
from tests.templates_market.history._lived import NOW, FefoReplay, lived_demo
from tests.templates_market.history._lived import day_of as _day

APP = "catering"


@pytest.fixture(scope="module", params=BACKENDS)
def lived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The catering demo with its history, built once per backend (the tests only
    read, but the runtime comparison, which posts one more sale after every generated one)."""
    with lived_demo(request.param, APP, tmp_path_factory) as jimu:
        yield jimu



def _moves(jimu: Any) -> tuple[list[Any], dict[int, date | None], dict[int, str]]:
    rt = jimu.apps.get(APP)
    bt = rt.tables("batch")
    with jimu.db.read() as c:
        moves = c.execute(sa.select(movement).where(movement.c.app == APP, movement.c.ledger == "stock")
                          .order_by(movement.c.at, movement.c.id)).all()
        batches = c.execute(sa.select(bt.c.id, bt.c.expiry_date, bt.c.quality_status)).all()
    return moves, {int(r[0]): _day(r[1]) for r in batches}, {int(r[0]): str(r[2]) for r in batches}


def test_the_ledger_verifies_and_no_batch_goes_below_zero(lived: Any) -> None:
    """Replayed in posting order no key ever has a negative bucket, every dish sale and
    receipt moves a batch, and the balances are the sum of the movements (``ledger
    verify``). Mutation tried: ``fefo_take`` not taking the quantities off its batches
    (the simulation sells what the book no longer has): the generation itself is refused
    (StockConflict from the balance guard: a batch would go below zero)."""
    jimu = lived
    assert verify(jimu.db, APP) == []
    moves, expiry, _ = _moves(jimu)
    acc: dict[str, dict[str, int]] = {}
    kinds: dict[str, int] = {}
    for m in moves:
        a = acc.setdefault(m.key, dict.fromkeys(BUCKETS, 0))
        for b in BUCKETS:
            a[b] += getattr(m, f"d_{b}")
        assert all(v >= 0 for v in a.values()), (m.key, m.at, a)
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
        if m.doc_entity == "dish_sale" or (m.kind == "receipt" and m.d_on_hand):
            assert int(m.dims["batch"]) in expiry, m
    assert kinds.get("ship", 0) > 1000 and kinds.get("receipt", 0) > 200
    with jimu.db.read() as c:
        rows = c.execute(sa.select(balance).where(balance.c.app == APP)).all()
    assert {r.key: {b: getattr(r, b) for b in BUCKETS} for r in rows if any(getattr(r, b) for b in BUCKETS)} == \
        {k: v for k, v in acc.items() if any(v.values())}


def test_each_sale_takes_its_recipes_first_expiry_first_out(lived: Any) -> None:
    """For every posted dish sale: its usage rows are its dish lines through the active
    recipes (``bom.explode``, summed per ingredient in line order), each usage row's
    movements are ``ship`` rows on that row (transition and reason ``post``) whose batches
    are the first ones in ``fefo_order`` among the store's released batches of that
    ingredient not expired on the day with stock (each but the last taken whole), and the
    row's ``allocations`` are those movements. Mutations tried: taking last-expiry-first
    (``Lot.fefo`` reversed in ``fefo_take``), and dropping a recipe's last ingredient
    from the usage (``Dish.need`` without its last line): both fail here."""
    from jimu.cbu_library.bom.actions import active_boms, explode

    jimu = lived
    rt = jimu.apps.get(APP)
    ds, dl, du = rt.tables("dish_sale"), rt.tables("dish_sale_line"), rt.tables("dish_sale_usage")
    lg = as_ledger(rt.spec.ledger("stock"))
    with jimu.db.read() as c:
        recipes = active_boms(jimu, c, APP)
        sales = {int(r.id): r for r in c.execute(sa.select(ds).where(ds.c.state == "posted"))}
        lines: dict[int, list[Any]] = {}
        for r in c.execute(sa.select(dl).order_by(dl.c._parent_id, dl.c._idx)):
            lines.setdefault(int(r._parent_id), []).append(r)
        usage: dict[int, list[Any]] = {}
        for r in c.execute(sa.select(du).order_by(du.c._parent_id, du.c._idx)):
            usage.setdefault(int(r._parent_id), []).append(r)
    assert len(sales) > 400
    for sid in sales:
        want: dict[int, Decimal] = {}
        for ln in lines[sid]:
            for item, q in explode(recipes[int(ln.dish)], ln.qty):
                want[item] = want.get(item, Decimal(0)) + q
        assert [(int(u.item), Decimal(u.qty)) for u in usage[sid]] == list(want.items()), sid
    rows = {int(u.id): u for us in usage.values() for u in us}
    moves, expiry, status = _moves(jimu)
    replay = FefoReplay()
    avail = replay.avail
    i, checked, split = 0, 0, 0
    while i < len(moves):
        m = moves[i]
        if m.doc_entity != "dish_sale":
            replay.count(m)
            i += 1
            continue
        group = [m]
        while i + len(group) < len(moves) and (moves[i + len(group)].doc_entity, moves[i + len(group)].doc_line) \
                == ("dish_sale", m.doc_line):
            group.append(moves[i + len(group)])
        u = rows[int(m.doc_line)]
        assert int(u._parent_id) == int(m.doc_id)
        assert all((g.kind, g.transition, g.reason, g.d_reserved) == ("ship", "post", "post", 0) for g in group)
        item, store = int(m.dims["item"]), int(m.dims["warehouse"])
        assert (item, store) == (int(u.item), int(sales[int(m.doc_id)].store))
        day = (m.at if m.at.tzinfo else m.at.replace(tzinfo=UTC)).date()
        assert day == _day(sales[int(m.doc_id)].sale_date)
        eligible = replay.eligible(item, store, day, expiry, status)
        taken = [(int(g.dims["batch"]), -g.d_on_hand) for g in group]
        assert [b for b, _ in taken] == [b for b, _ in eligible[:len(taken)]], (m.doc_id, taken, eligible[:3])
        assert all(q == eligible[n][1] for n, (_, q) in enumerate(taken[:-1]))
        assert sum(q for _, q in taken) == lg.to_units(Decimal(u.qty))
        assert [(int(a["batch"]), lg.to_units(Decimal(a["qty"]))) for a in u.allocations] == taken
        for b, q in taken:
            avail[(item, store, b)] -= q
        checked += 1
        split += len(group) > 1
        i += len(group)
    assert checked == len(rows) and split > 0


def test_the_catering_dashboard_shows_real_figures_with_a_week(lived: Any) -> None:
    """The stores' sales (both stores), the ingredient usage, dish sales on every day of
    the window, weekend dinners busier than weekday ones, and purchases received into
    new batches. Mutation tried: the generator's old early return for catering (nothing
    generated) fails here (no posted sale)."""
    from jimu.runtime.screens.dash_spec import spec_dashboard

    jimu = lived
    manager = AccessPolicy.for_actor(jimu, APP, Actor("manager", ("manager",)))
    dash = next(d for d in manager.rt.spec.dashboards if d.name == "catering_overview")
    charts = {ch["label"]: ch for ch in spec_dashboard(manager, dash, "zh")}
    by_store = charts["门店营业额"]["data"]
    assert len(by_store) == 2 and all(Decimal(str(v)) > 10000 for _, v in by_store)
    assert charts["原料消耗"]["data"] and all(Decimal(str(v)) > 0 for _, v in charts["原料消耗"]["data"])
    rt = manager.rt
    ds, po = rt.tables("dish_sale"), rt.tables("purchase_order")
    with jimu.db.read() as c:
        per_day = c.execute(sa.select(ds.c.sale_date, ds.c.note, sa.func.sum(ds.c.amount))
                            .where(ds.c.state == "posted").group_by(ds.c.sale_date, ds.c.note)).all()
        received = c.execute(sa.select(sa.func.count()).select_from(po).where(po.c.state == "received")).scalar()
    days = {_day(d) for d, _, _ in per_day}
    assert len(days) >= 119 and max(d for d in days if d) <= NOW.date()
    dinners = [(_day(d), Decimal(a)) for d, note, a in per_day if "dinner" in str(note)]
    weekend = [a for d, a in dinners if d and d.weekday() >= 5]
    weekday = [a for d, a in dinners if d and d.weekday() < 4]
    assert sum(weekend) / len(weekend) > Decimal("1.3") * sum(weekday) / len(weekday)
    assert received and received > 100


def test_forecasts_and_the_bri_read_the_ingredients_dish_sales_took(lived: Any) -> None:
    """Dish sales are demand (``DEMAND_ENTITIES``): the forecast of an ingredient has 16
    weeks of history, a backtest and a non-zero forecast, and the BRI's demand sensing is
    scored. Mutations tried: ``DEMAND_ENTITIES`` without ``dish_sale``, and the history's
    ledger rows not keeping the balance row of a batch they emptied (``LedgerRows.write``
    without ``ensure_row``: demand joins movements to balances, so a used-up batch's sales
    vanished and most weeks read 0): both fail here."""
    from jimu.runtime.intel.bri import bri_report
    from jimu.runtime.intel.forecast_report import forecast_report

    jimu = lived
    manager = AccessPolicy.for_actor(jimu, APP, Actor("manager", ("manager",)))
    with jimu.db.read() as c:
        it = manager.rt.tables("item")
        egg = c.execute(sa.select(it.c.id).where(it.c.sku == "CT-EGG")).scalar_one()
    fc = forecast_report(manager, {"item": str(egg), "weeks": "4", "history_weeks": "16"})
    assert len(fc["history"]) >= 16 and all(Decimal(h["qty"]) > 0 for h in fc["history"])
    assert fc["backtest"]["wape"] is not None and all(Decimal(f["qty"]) > 0 for f in fc["forecast"])
    bri = bri_report(manager, {})
    assert Decimal(bri["index"]) > 0
    assert next(d for d in bri["dimensions"] if d["name"] == "demand_sensing")["score"] is not None


def test_a_sale_posted_by_the_runtime_after_the_history_writes_the_same_rows(lived: Any) -> None:
    """The runtime posts one more dish sale on top of the generated history: its usage
    rows and movements have the shape the generator wrote (kinds, transition, reason,
    usage-row ``doc_line``, allocation format) and the ledger still verifies. Mutation
    tried: the generator's rows with reason ``dish_consume`` (the posting's name) instead of
    ``post`` fail here; its rows on the dish sale's id instead of the usage row's fail the
    FEFO test above."""
    from jimu.platform.actor import SYSTEM
    from jimu.runtime.workflow.engine import WorkflowEngine
    from jimu.templates_market.installer import load_library_actions

    jimu = lived
    load_library_actions()
    rt = jimu.apps.get(APP)
    ds = rt.tables("dish_sale")
    with jimu.db.read() as c:
        old = c.execute(sa.select(ds.c.id, ds.c.store).where(ds.c.state == "posted").order_by(ds.c.id.desc())).first()
        it = rt.tables("item")
        dish = c.execute(sa.select(it.c.id).where(it.c.sku == "DISH-TOMATOEGG")).scalar_one()
    rec = jimu.records.create(APP, "dish_sale", {"store": int(old.store), "lines": [{"dish": dish, "qty": 1,
                                                                                     "price": "22.00"}]}, actor=SYSTEM)
    WorkflowEngine(jimu).fire(APP, "dish_sale", rec["id"], "post")

    def shape(sid: int) -> list[tuple[Any, ...]]:
        with jimu.db.read() as c:
            return [(r.kind, r.transition, r.reason, r.doc_entity, r.d_reserved, r.d_in_transit, r.d_on_order,
                     r.d_on_hand < 0, r.doc_line is not None, "batch" in (r.dims or {}))
                    for r in c.execute(sa.select(movement).where(movement.c.app == APP,
                                                                 movement.c.doc_entity == "dish_sale",
                                                                 movement.c.doc_id == str(sid)))]

    new, generated = set(shape(rec["id"])), set(shape(int(old.id)))
    assert new and new == generated
    after = jimu.records.get(APP, "dish_sale", rec["id"])
    assert all(set(u) >= {"item", "qty", "allocations"} and u["allocations"] for u in after["usage"])
    assert verify(jimu.db, APP) == []


def test_a_dish_sells_out_when_its_ingredients_run_short() -> None:
    """A store never sells beyond its book (``oversell_policy = refuse``): with 1 kg of
    tomato (0.25 kg a portion) a busy lunch sells 4 portions, taken from the earliest
    expiring batch first; an expired batch is not touched. Mutation tried: the dish not
    capped at what its ingredients cover (``qty = want``): ``fefo_take`` refuses (the
    batch would go below zero)."""
    import random

    from jimu.templates_market.history.batchsim import Lot
    from jimu.templates_market.history.catering import Dish, _Kitchen

    day = date(2026, 3, 2)  # a Monday
    tomato, egg, store = 5, 6, 2
    lots = [Lot(tomato, store, "T-late", None, day + timedelta(days=5), on_hand=Decimal("0.6"), id=11),
            Lot(tomato, store, "T-early", None, day + timedelta(days=1), on_hand=Decimal("0.4"), id=12),
            Lot(tomato, store, "T-gone", None, day - timedelta(days=1), on_hand=5, id=13),
            Lot(egg, store, "E", None, None, on_hand=300, id=14)]
    dish = Dish(9, Decimal("22.00"), ((tomato, Decimal("0.25")), (egg, Decimal(3))))
    kitchen = _Kitchen(random.Random(1), [dish], [store], [1], lots, {}, {})
    sale = kitchen.sell(store, datetime.combine(day, datetime.min.time(), UTC), "lunch", 3.0)
    assert sale is not None and sale.lines == [(9, 4, Decimal("22.00"))]
    assert [(u.item, u.qty, [(lot.batch_no, q) for lot, q in u.alloc]) for u in sale.usage] == [
        (tomato, Decimal("1.00"), [("T-early", Decimal("0.4")), ("T-late", Decimal("0.6"))]),
        (egg, Decimal(12), [("E", Decimal(12))])]
    assert lots[2].on_hand == 5
