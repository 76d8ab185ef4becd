"""Rollups: the dashboards' figures kept in the write transaction equal a full scan after
random creates, updates (scalar fields and child lines), deletes, transitions and bulk
inserts, on SQLite and PostgreSQL; the dashboards read them and show exactly what the scan
showed."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.core.clock import today
from jimu.core.errors import JimuError
from jimu.platform.actor import SYSTEM, Actor
from jimu.runtime.access import AccessPolicy
from jimu.runtime.rollups import read as rollup_read
from jimu.runtime.rollups import rollup_table, rollups_of, verify
from jimu.runtime.rollups import store as rollup_store
from jimu.runtime.screens import dash_builtin, dash_spec
from jimu.runtime.workflow.engine import WorkflowEngine
from tests.runtime.screens.seed import seed

STATES = ["draft", "pending_approval", "approved", "shipped", "completed", "rejected", "cancelled"]


@pytest.fixture
def std(db_url: str) -> Any:
    """``build_standard`` on the test's database: a copy of one built once per worker and
    day (the sample data is dated from the day it is loaded; tests.dbcache)."""
    from jimu.cli.basics import prepare_demo
    from jimu.core import clock
    from tests.dbcache import open_built

    def build(jimu: Any) -> None:
        prepare_demo(jimu, "standard")
        seed(jimu)

    jimu, _ = open_built(db_url, f"build_standard:{clock.today()}", build)
    yield jimu
    jimu.close()


def _ids(jimu: Any, entity: str) -> list[int]:
    return [r["id"] for r in jimu.records.list("standard", entity, limit=500).data]


def _figures(jimu: Any, user: str = "admin") -> tuple[Any, Any]:
    """(spec dashboard charts, built-in orders by state) as the user sees them."""
    policy = AccessPolicy.for_actor(jimu, "standard", Actor(user, (user,)))
    charts = dash_spec.spec_dashboard(policy, policy.rt.spec.dashboards[0], "en")

    class _Screen:  # what orders_by_state reads of a Screen
        def __init__(self) -> None:
            self.policy, self.jimu, self.extra = policy, jimu, {}

        def label(self, label: Any, default: str) -> str:
            return str(getattr(label, "en", None) or default)

    return charts, dash_builtin.orders_by_state(_Screen())  # type: ignore[arg-type]


def _scan_figures(jimu: Any, monkeypatch: pytest.MonkeyPatch, user: str = "admin") -> tuple[Any, Any]:
    with monkeypatch.context() as m:
        m.setattr(dash_spec, "grouped_rows", lambda *a, **k: None)
        m.setattr(dash_builtin, "grouped_rows", lambda *a, **k: None)
        return _figures(jimu, user)


def _random_writes(jimu: Any, rnd: random.Random, n: int) -> None:
    app = "standard"
    customers, warehouses, items = _ids(jimu, "customer"), _ids(jimu, "warehouse"), _ids(jimu, "item")
    engine = WorkflowEngine(jimu)
    day0 = today()

    def lines() -> list[dict[str, Any]]:
        return [{"item": rnd.choice(items), "qty": str(rnd.randint(1, 3)),
                 "price": f"{rnd.randint(1, 99999) / 100:.2f}"} for _ in range(rnd.randint(1, 3))]

    for _ in range(n):
        orders = _ids(jimu, "sales_order")
        op = rnd.random()
        if op < 0.35 or not orders:
            jimu.records.create(app, "sales_order", {
                "customer": rnd.choice(customers), "warehouse": rnd.choice(warehouses),
                "order_date": (day0 - timedelta(days=rnd.randint(0, 70))).isoformat(), "lines": lines()},
                _state=rnd.choice(STATES))
        elif op < 0.55:
            rid = rnd.choice(orders)
            change = rnd.choice([{"customer": rnd.choice(customers)}, {"lines": lines()}, {"note": "x"},
                                 {"order_date": (day0 - timedelta(days=rnd.randint(0, 70))).isoformat()}])
            try:
                jimu.records.update(app, "sales_order", rid, change, _allow_state=True)
            except JimuError:
                pass
        elif op < 0.75:
            rid = rnd.choice(orders)
            try:
                jimu.records.delete(app, "sales_order", rid)
            except JimuError:
                pass
        else:
            rid = rnd.choice(orders)
            try:
                engine.fire(app, "sales_order", rid, rnd.choice(["submit", "cancel", "approve", "reject"]), actor=SYSTEM)
            except JimuError:
                pass


def _verify(jimu: Any) -> list[dict[str, Any]]:
    rt = jimu.apps.get("standard")
    with jimu.db.read() as c:
        return verify(c, rt)


def test_random_writes_keep_rollups_equal_to_a_full_scan(std, monkeypatch):
    """Random creates (any state), updates (customer, date, lines -> amount, a field no
    rollup reads), deletes and transitions, then every rollup equals the full scan and the
    dashboard (rollup path) equals the dashboard computed by scanning.

    Mutation caught: drop the ``before`` contribution in ``RollupListener.after_write``
    (a delete or update no longer takes the old row out) -> verify reports differences."""
    rt = std.apps.get("standard")
    assert {d.entity for d in rollups_of(rt)} >= {"sales_order", "purchase_order"}
    _figures(std)  # builds the rollups from the sample data
    _random_writes(std, random.Random(24), 120)
    assert _verify(std) == []
    fast, scan = _figures(std), _scan_figures(std, monkeypatch)
    assert fast == scan
    charts = {c["label"]: c for c in fast[0]}
    assert charts["Orders by state"]["data"] and fast[1][0]["total"] > 0
    # the rollup really answered: its tables hold the figures (the scan was not used)
    with std.db.read() as c:
        n = sum(int(c.execute(sa.select(sa.func.sum(rollup_table(d).c._n))).scalar() or 0)
                for d in rollups_of(rt, "sales_order") if len(d.dims) == 1)
    assert n == len(std.records.list("standard", "sales_order", limit=500).data)


def test_rollups_answer_the_dashboard_without_a_scan(std, monkeypatch):
    """With the rollups built, the dashboard's view charts and orders by state never read
    the sales order table. Mutation caught: ``grouped_rows`` returning None (the scan)
    makes the scan spy fire."""
    _figures(std)
    calls: list[Any] = []
    real = dash_spec._scan
    monkeypatch.setattr(dash_spec, "_scan", lambda *a, **k: calls.append(a) or real(*a, **k))
    _figures(std)
    assert calls == []


def test_a_write_that_fails_leaves_the_rollups_unchanged(std):
    """A write rolled back (a validation error after the row was read) leaves the rollup
    rows as they were: they change in the record's transaction."""
    _figures(std)
    rid = _ids(std, "sales_order")
    if not rid:
        rid = [std.records.create("standard", "sales_order", {"customer": _ids(std, "customer")[0],
                                   "warehouse": _ids(std, "warehouse")[0],
                                   "lines": [{"item": _ids(std, "item")[0], "qty": "1", "price": "5"}]})["id"]]
    with pytest.raises(JimuError):
        std.records.update("standard", "sales_order", rid[0], {"lines": [{"item": _ids(std, "item")[0], "qty": "-1",
                                                                          "price": "5"}]})
    assert _verify(std) == []


def test_writes_before_the_first_build_are_counted_by_it(std, monkeypatch):
    """A rollup is built (from the base table) when first read; writes before that leave
    it alone and are counted by the build, writes after it maintain it.
    Mutation caught: maintaining a rollup that is not built yet (``built`` returning
    every rollup name) -> the first writes are counted twice or hit a missing table."""
    rt = std.apps.get("standard")
    with std.db.read() as c:
        assert rollup_store.built(c, rt) == set()
    _random_writes(std, random.Random(3), 15)
    assert _figures(std) == _scan_figures(std, monkeypatch)
    with std.db.read() as c:
        assert rollup_store.built(c, rt) == {d.name for d in rollups_of(rt)}
    _random_writes(std, random.Random(4), 15)
    assert _verify(std) == []
    assert _figures(std) == _scan_figures(std, monkeypatch)


def test_bulk_insert_and_rebuild(std):
    """Bulk inserts (imports) are counted; ``rebuild`` recomputes from the base tables;
    a rollup row changed behind Jimu's back is reported by ``verify``.

    Mutation caught: remove the ``after_bulk_insert`` call in ``RecordService.bulk_insert``
    -> verify reports the imported rows missing."""
    _figures(std)
    cust, wh = _ids(std, "customer")[0], _ids(std, "warehouse")[0]
    std.records.bulk_insert("standard", "sales_order", [
        {"customer": cust, "warehouse": wh, "order_date": today().isoformat(), "state": s} for s in STATES])
    assert _verify(std) == []
    rt = std.apps.get("standard")
    d = next(d for d in rollups_of(rt, "sales_order") if len(d.dims) == 1)
    t = rollup_table(d)
    with std.db.write() as c:
        c.execute(sa.update(t).values(_n=t.c._n + 1))
    problems = _verify(std)
    assert problems and all(p["rollup"] == d.name for p in problems)
    with std.db.write() as c:
        assert d.name in rollup_store.rebuild(c, rt)
    assert _verify(std) == []


def test_row_filter_callers_read_the_rollup_with_their_filter(db_url, monkeypatch):
    """A role with a row filter (sales sees its own customers' orders only): the rollup
    carries the filter's field as a dimension and the figures equal the scan's for that
    caller. Mutation caught: dropping the row filter clauses in ``grouped_rows`` makes the
    sales user's figures those of the admin."""
    from jimu.cli.basics import prepare_demo
    from jimu.runtime.context import Jimu
    from tests.runtime.screens.seed import seed

    jimu = Jimu.open(db_url)
    try:
        prepare_demo(jimu, "standard")
        seed(jimu)
        store = jimu.store
        spec = jimu.apps.get("standard").spec
        roles = []
        for r in spec.roles:
            if r.name == "sales":
                ents = dict(r.entities)
                ents["sales_order"] = ents["sales_order"].model_copy(update={"row_filter": 'channel == "online"'})
                r = r.model_copy(update={"entities": ents})
            roles.append(r)
        store.save_draft("standard", spec.model_copy(update={"roles": roles}), author="admin")
        store.publish("standard", author="admin")
        rt = jimu.apps.get("standard")
        assert any(d.dim("channel") for d in rollups_of(rt, "sales_order"))
        _figures(jimu, "sales")  # builds the new spec's rollups
        _random_writes(jimu, random.Random(7), 40)
        for i in range(6):
            jimu.records.update("standard", "sales_order", _ids(jimu, "sales_order")[i % 3],
                                {"channel": "online" if i % 2 else "offline"}, _allow_state=True)
        assert _verify(jimu) == []
        assert _figures(jimu, "sales") == _scan_figures(jimu, monkeypatch, "sales")
        assert _figures(jimu, "sales") != _figures(jimu, "admin")
    finally:
        jimu.close()


def test_grouped_rows_falls_back_for_aggregates_a_rollup_cannot_keep(std):
    policy = AccessPolicy.for_actor(std, "standard", Actor("admin", ("admin",)))
    ent = policy.rt.spec.entity("sales_order")
    amount = ent.field("amount")
    assert rollup_read.grouped_rows(policy, ent, None, amount, "max", [], None) is None
    assert rollup_read.grouped_rows(policy, ent, None, amount, "sum", ['note == "x"'], None) is None
    got = rollup_read.grouped_rows(policy, ent, None, amount, "sum", ['state == "draft"'], None)
    assert got is not None and isinstance(got[0][0], (Decimal, type(None)))


def test_cli_verify_and_rebuild(std, db_url, capsys):
    """``jimu rollup verify`` exits 0 when the rollups equal the scan and 1 (naming the
    rollup) after a rollup row was changed behind Jimu's back; ``rebuild`` repairs it.
    Mutation caught: ``cmd_verify`` returning 0 regardless."""
    from jimu.cli import main

    _figures(std)
    assert main(["-d", db_url, "rollup", "verify", "standard"]) == 0
    d = next(d for d in rollups_of(std.apps.get("standard"), "sales_order") if len(d.dims) == 1)
    with std.db.write() as c:
        c.execute(sa.update(rollup_table(d)).values(_n=rollup_table(d).c._n + 2))
    capsys.readouterr()
    assert main(["-d", db_url, "rollup", "verify", "standard"]) == 1
    assert d.name in capsys.readouterr().out
    assert main(["-d", db_url, "rollup", "rebuild", "standard"]) == 0
    assert main(["-d", db_url, "rollup", "verify", "standard"]) == 0
