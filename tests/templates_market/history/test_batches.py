"""120 days of history for the batch-tracked templates (both databases): receipts create
batches, orders reserve and ship first-expiry-first-out, and what the generator wrote is
what the runtime would have: the ledger verifies, no batch ever goes below zero, every
reservation took the batches ``allocate_fefo`` would have given at that moment, the lines
record the batches their movements took, and the dashboards, the forecast and the BRI
show real figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import Actor
from jimu.platform.ledger import as_ledger
from jimu.platform.ledger.tables import BUCKETS, balance, movement, reservation
from jimu.platform.ledger.verify import verify
from jimu.runtime.access import AccessPolicy
from tests.conftest import BACKENDS
from tests.templates_market.history._lived import NOW, FefoReplay, lived_demo
from tests.templates_market.history._lived import day_of as _day

TEMPLATES = ["food", "discrete_manufacturing"]


@pytest.fixture(scope="module", params=[(b, t) for b in BACKENDS for t in TEMPLATES], ids=lambda p: f"{p[0]}-{p[1]}")
def lived(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The template's demo with its history, built once per backend and template (the
    tests below only read)."""
    backend, template = request.param
    with lived_demo(backend, template, tmp_path_factory) as jimu:
        yield jimu, template



def _replay(jimu: Any, app: str) -> tuple[list[Any], dict[int, date | None], dict[int, str]]:
    """The app's movements in posting order, batch id -> expiry, batch id -> quality status."""
    rt = jimu.apps.get(app)
    bt = rt.tables("batch")
    with jimu.db.read() as c:
        moves = c.execute(sa.select(movement).where(movement.c.app == app, movement.c.ledger == "stock")
                          .order_by(movement.c.at, movement.c.id)).all()
        status = bt.c.quality_status if "quality_status" in bt.c else sa.literal("released")  # no food_safety unit
        batches = c.execute(sa.select(bt.c.id, bt.c.expiry_date, status)).all()
    return moves, {int(r[0]): _day(r[1]) for r in batches}, {int(r[0]): str(r[2]) for r in batches}


def _batch_of(m: Any) -> int | None:
    b = (m.dims or {}).get("batch")
    return None if b is None else int(b)


def test_batches_never_go_below_zero_and_the_ledger_verifies(lived: tuple[Any, str]) -> None:
    """Replayed in posting order, no key (each batch, and the batch-less on-order key) ever
    has a negative bucket or reserves more than it holds; sales stock moves only with a
    batch; the balances are the sum of the movements (``ledger verify``). Mutations tried:
    writing the ship rows without their batch, or a return's row without its batch:
    the generation itself is refused (the balance guard: a batch-less key would go
    negative, or a batch later ships or counts more than its rows gave it)."""
    jimu, app = lived
    assert verify(jimu.db, app) == []
    moves, expiry, _ = _replay(jimu, app)
    assert moves
    acc: dict[str, dict[str, int]] = {}
    for m in moves:
        a = acc.setdefault(m.key, dict.fromkeys(BUCKETS, 0))
        for b in BUCKETS:
            a[b] += getattr(m, f"d_{b}")
        assert all(v >= 0 for v in a.values()) and a["on_hand"] >= a["reserved"], (m.key, m.at, a)
        if m.kind in ("reserve", "ship", "release", "return_in", "return_quarantine"):
            assert _batch_of(m) in expiry, m
        if m.kind == "receipt" and m.d_on_hand:
            assert _batch_of(m) in expiry, m
    with jimu.db.read() as c:
        rows = c.execute(sa.select(balance).where(balance.c.app == app)).all()
    assert all(r.on_hand >= 0 and r.reserved >= 0 and r.on_hand >= r.reserved for r in rows)
    assert {r.key: {b: getattr(r, b) for b in BUCKETS} for r in rows if any(getattr(r, b) for b in BUCKETS)} == \
        {k: v for k, v in acc.items() if any(v.values())}


def test_every_reservation_took_the_batches_fefo_would_give(lived: tuple[Any, str]) -> None:
    """At each order line's reservation (replayed in posting order), the batches taken are
    exactly the first ones in ``fefo_order`` among the released batches of that item and
    warehouse not expired that day with stock available, every one but the last taken
    whole; shipping takes exactly the reserved batches. Mutations tried: allocating
    last-expiry-first (``Lot.fefo`` reversed) and ignoring expiry when allocating (an
    expired batch taken) both fail here."""
    jimu, app = lived
    moves, expiry, status = _replay(jimu, app)  # statuses of today: a batch quarantined later was in use before
    replay = FefoReplay()
    avail = replay.avail
    held: dict[int, tuple[str, int]] = {}
    lines = 0
    i = 0
    while i < len(moves):
        m = moves[i]
        if m.kind != "reserve":
            replay.count(m)
            if m.kind == "ship":
                assert held[m.reservation_id] == (m.key, -m.d_on_hand), m
            i += 1
            continue
        group = [m]  # one line's reservations: same document line, same moment
        while i + len(group) < len(moves) and moves[i + len(group)].kind == "reserve" \
                and (moves[i + len(group)].doc_entity, moves[i + len(group)].doc_id, moves[i + len(group)].doc_line,
                     moves[i + len(group)].at) == (m.doc_entity, m.doc_id, m.doc_line, m.at):
            group.append(moves[i + len(group)])
        item, wh = int(m.dims["item"]), int(m.dims["warehouse"])
        day = (m.at if m.at.tzinfo else m.at.replace(tzinfo=UTC)).date()
        eligible = replay.eligible(item, wh, day, expiry, status)
        taken = [(_batch_of(g), g.d_reserved) for g in group]
        assert [b for b, _ in taken] == [b for b, _ in eligible[:len(taken)]], (m.doc_id, taken, eligible[:3])
        assert all(q == eligible[n][1] for n, (_, q) in enumerate(taken[:-1])) and taken[-1][1] <= eligible[len(taken) - 1][1]
        for g, (b, q) in zip(group, taken, strict=True):
            assert b is not None
            avail[(item, wh, b)] -= q
            held[g.reservation_id] = (g.key, q)
        lines += 1
        i += len(group)
    assert lines > 500


def test_lines_carry_the_batches_their_movements_took(lived: tuple[Any, str]) -> None:
    """A shipped line's ``allocations`` (and ``batch`` when one) are what the runtime's
    ``allocations_of`` reads from its movements; each batch a receipt created carries the
    purchase line's batch number and expiry; returns name the batch they came from.
    Mutation tried: writing ``batch`` for a split line (it must stay empty) fails."""
    from jimu.runtime.stock.allocations import allocations_of

    jimu, app = lived
    rt = jimu.apps.get(app)
    so, sol = rt.tables("sales_order"), rt.tables("sales_order_line")
    pol, bt, srl = rt.tables("purchase_order_line"), rt.tables("batch"), rt.tables("sales_return_line")
    lspec = rt.spec.ledger("stock")
    lg = as_ledger(lspec)
    with jimu.db.read() as c:
        shipped = c.execute(sa.select(so.c.id).where(so.c.state.in_(("shipped", "completed"))).order_by(so.c.id)).scalars().all()
        assert len(shipped) > 300
        split = 0
        for oid in shipped[::7]:
            taken = allocations_of(c, app, lspec, "sales_order", oid)
            for line in c.execute(sa.select(sol).where(sol.c._parent_id == oid)):
                want = [(int(a["batch"]), Decimal(a["qty"])) for a in line.allocations]
                got = [(int(b), Decimal(lg.to_qty(u))) for b, u in taken.get(str(line.id), [])]
                assert want == got, (oid, line.id)
                assert sum(q for _, q in want) == Decimal(line.qty) == Decimal(line.shipped_qty)
                assert line.batch == (want[0][0] if len(want) == 1 else None)
                split += len(want) > 1
        received = c.execute(sa.select(pol.c.batch_no, pol.c.expiry_date, bt.c.expiry_date)
                             .select_from(pol.join(bt, sa.and_(bt.c.item == pol.c.item, bt.c.batch_no == pol.c.batch_no)))
                             .where(pol.c.received_qty > 0)).all()
        returns = c.execute(sa.select(srl.c.batch)).scalars().all()
    assert split > 0
    assert len(received) > 100 and all(_day(a) == _day(b) for _, a, b in received)
    assert returns and all(b is not None for b in returns)


def test_the_dashboards_and_reports_show_real_figures(lived: tuple[Any, str]) -> None:
    """This month's sales, the top-10 customers, turnover days, a forecast with a chosen
    method and backtest, the BRI's four dimensions and open reservations: all from the
    generated history. Mutation tried: generating nothing for batch-tracked stock (the
    generator's old early return) fails (this month's sales 0.00)."""
    from jimu.runtime.intel.bri import bri_report
    from jimu.runtime.intel.forecast_report import forecast_report
    from jimu.runtime.screens.base import Screen
    from jimu.runtime.screens.dash_builtin import turnover_days
    from jimu.runtime.screens.dash_spec import spec_dashboard

    jimu, app = lived
    manager = AccessPolicy.for_actor(jimu, app, Actor("manager", ("manager",)))
    charts = {ch["label"]: ch for ch in spec_dashboard(manager, manager.rt.spec.dashboards[0], "zh")}
    assert charts["本月销售额"]["data"][0][1] > 0
    with jimu.db.read() as c:
        customers = c.execute(sa.select(sa.func.count()).select_from(manager.rt.tables("customer"))).scalar()
    assert len(charts["客户销售额 Top 10"]["data"]) == min(10, customers)
    turnover = turnover_days(Screen(None, jimu, manager.actor, "zh", "", manager))  # type: ignore[arg-type]
    assert turnover is not None and any(r["days"] is not None and Decimal(r["days"]) > 0 for r in turnover["rows"])
    fc = forecast_report(manager, {"weeks": "4", "history_weeks": "16"})
    assert sum(Decimal(h["qty"]) for h in fc["history"]) > 0 and all(Decimal(f["qty"]) > 0 for f in fc["forecast"])
    assert fc["backtest"]["wape"] is not None
    bri = bri_report(manager, {})
    assert Decimal(bri["index"]) > 0 and all(d["score"] is not None for d in bri["dimensions"])
    with jimu.db.read() as c:
        open_holds = c.execute(sa.select(sa.func.count()).select_from(reservation)
                               .where(reservation.c.app == app, reservation.c.state == "active")).scalar()
        first = c.execute(sa.select(sa.func.min(movement.c.at)).where(movement.c.app == app)).scalar()
    assert open_holds and open_holds > 0
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    assert NOW - timedelta(days=121) <= first < NOW


def test_work_orders_make_a_batch_from_component_batches(lived: tuple[Any, str]) -> None:
    """Where the app has active BOMs (the factory), what it sells and has a BOM for is made:
    completed work orders, each with the components one level of its BOM gives for its
    quantity (scrap included, as ``bom_explode``), the component batches reserved and
    issued recorded on the component lines (``allocations_of`` reads the same from the
    movements), and its output received into the batch it names (the genealogy). Without
    BOMs (food's demo) no work order is generated. Mutations tried: dropping the scrap
    from the component quantities; receiving the output into the batch-less key (the
    generation is refused: the product's batch later ships what it never received)."""
    from jimu.runtime.stock.allocations import allocations_of
    from jimu.templates_market.history.production_rows import read_boms

    jimu, app = lived
    rt = jimu.apps.get(app)
    lspec = rt.spec.ledger("stock")
    lg = as_ledger(lspec)
    wo, woc, bt = rt.tables("work_order"), rt.tables("work_order_component"), rt.tables("batch")
    with jimu.db.read() as c:
        boms, _ = read_boms(jimu, c, app)
        done = c.execute(sa.select(wo).where(wo.c.state == "completed", wo.c.created_at < NOW - timedelta(days=1))).all()
        assert bool(done) == bool(boms)
        for w in done:
            out, lines = boms[w.product]
            want: dict[int, Decimal] = {}
            for comp, q in lines:
                want[comp] = want.get(comp, Decimal(0)) + q * Decimal(w.qty) / out
            comps = c.execute(sa.select(woc).where(woc.c._parent_id == w.id)).all()
            assert {r.item: Decimal(r.qty) for r in comps} == {k: v.quantize(Decimal("0.0001")) for k, v in want.items()}
            taken = allocations_of(c, app, lspec, "work_order", w.id)
            for r in comps:
                alloc = [(int(a["batch"]), Decimal(a["qty"])) for a in r.allocations]
                assert alloc == [(int(b), Decimal(lg.to_qty(u))) for b, u in taken.get(str(r.id), [])]
                assert sum(q for _, q in alloc) == Decimal(r.qty)
            batch = c.execute(sa.select(bt.c.id).where(bt.c.item == w.product, bt.c.batch_no == w.batch_no)).scalar_one()
            got = c.execute(sa.select(movement.c.dims, movement.c.d_on_hand).where(
                movement.c.app == app, movement.c.doc_entity == "work_order", movement.c.doc_id == str(w.id),
                movement.c.kind == "receipt")).all()
            assert [(int(d["batch"]), q) for d, q in got] == [(batch, int(lg.to_units(w.completed_qty)))]



def test_expired_batches_are_quarantined_as_the_nightly_job_would(lived: tuple[Any, str]) -> None:
    """The nightly automation (food_safety's ``quarantine_expired``) did not run while the
    history was written; it runs once at its end, through the engine: no batch that
    expired before today is still released with stock, each such batch's stock sits in
    the quarantine bucket (moved by the status change's own posting), and every one of
    them has an automation run and an audit row. Mutation tried: no catch-up at the end of
    ``generate_history``: 50 expired batches (2,945 units on hand) stay released and this
    fails. The discrete template has no such automation and nothing changes there."""
    jimu, app = lived
    rt = jimu.apps.get(app)
    has_job = any(a.name == "quarantine_expired" for a in rt.spec.automations)
    _, expiry, status = _replay(jimu, app)
    today = NOW.date()
    expired = {b for b, d in expiry.items() if d is not None and d < today}
    lg = as_ledger(rt.spec.ledger("stock"))
    with jimu.db.read() as c:
        rows = c.execute(sa.select(balance).where(balance.c.app == app, balance.c.ledger == "stock")).all()
        on_hand = {b: 0 for b in expired}
        held = {b: 0 for b in expired}
        for r in rows:
            b = (r.dims or {}).get("batch")
            if b is not None and int(b) in expired:
                on_hand[int(b)] += r.on_hand
                held[int(b)] += r.quarantine
    if not has_job:
        assert "quality_status" not in rt.tables("batch").c
        return
    assert expired and sum(held.values()) > 0
    for b in expired:
        assert status[b] == "quarantine", (b, expiry[b], status[b])
        assert on_hand[b] == 0, (b, lg.to_qty(on_hand[b]))
    from jimu.runtime.events.tables import automation_runs

    with jimu.db.read() as c:
        ran = c.execute(sa.select(sa.func.count()).select_from(automation_runs).where(
            automation_runs.c.app == app, automation_runs.c.automation == "quarantine_expired",
            automation_runs.c.status == "ok")).scalar()
    assert ran == len(expired)
