"""A stocktake's line writes go set-based (``jimu.runtime.records.child_values``) and leave
exactly what the generic ``RecordService.update`` path left, on both backends.

The same story runs in two apps of the standard template: ``generic`` with the set-based
path switched off (every line write through ``records.update``, the code before it) and
``setbased`` with it. Two counts: a blind one started empty (auto-filled), adjusted
during the count, typed, submitted (``set_lines`` lifts ``blind``) and posted (the book at
posting, ``book_at_post``); and a freezing one with chosen lines. Compared app against
app, timestamps and movement ids aside: every stocktake and stocktake_line row (versions,
``_idx``, book_qty, the stored variance formulas, updated_by), the audit rows (one per
write with its changes and sentences: the line writes add none of their own, as before),
the outbox events (record snapshots and changes), the ledger movements and balances.

Mutations tried, each fails this test: the line rows written without ``version + 1`` in
``update_child_rows`` (SQLite: the stocktake_line rows differ); the stored formulas not
recomputed there (``compute_formulas`` dropped, SQLite: variance and variance_rate keep
their values from before ``post``, the stocktake_line rows differ); the parent's version
bump dropped (PostgreSQL: the stocktake rows differ, version 6 against 8).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from jimu.platform.actor import Actor
from jimu.platform.ledger import MoveLine, as_ledger, balances, post
from jimu.platform.store.tables import audit_log
from jimu.runtime.events.tables import events
from jimu.runtime.records import child_values
from jimu.runtime.workflow import WorkflowEngine
from jimu.templates_market.installer import install_template

ALICE = Actor(username="alice", roles=("admin",))
N = 12
_STAMPS = ("created_at", "updated_at", "at")


def _story(jimu: Any, app: str) -> None:
    rec = jimu.records
    engine = WorkflowEngine(jimu)
    wh = rec.create(app, "warehouse", {"name": "W", "confirm_code": "W1"}, actor=ALICE)["id"]
    items = [rec.create(app, "item", {"sku": f"S{i}", "name": f"Item {i}", "unit": "个"}, actor=ALICE)["id"]
             for i in range(N)]
    with jimu.db.write() as c:
        lg = as_ledger(jimu.apps.get(app, c).spec.ledger("stock"))
        post(c, app, lg, "receipt", [MoveLine({"item": it, "warehouse": wh}, 10 + i, unit_cost="2.5")
                                     for i, it in enumerate(items)])
    blind = rec.create(app, "stocktake", {"warehouse": wh, "blind": True}, actor=ALICE)
    started = engine.fire(app, "stocktake", blind["id"], "start", actor=ALICE)
    for it in items[:4]:  # the book moves under the counters
        rec.create(app, "stock_adjustment", {"item": it, "warehouse": wh, "qty": "-2", "reason": "damage"}, actor=ALICE)
    rows = [{"id": ln["id"], "counted_qty": str(8 + j % 5)} for j, ln in enumerate(started["stocktake_line"])]
    rec.update(app, "stocktake", blind["id"], {"stocktake_line": rows}, actor=ALICE)
    engine.fire(app, "stocktake", blind["id"], "submit_count", actor=ALICE)
    engine.fire(app, "stocktake", blind["id"], "post", actor=ALICE)
    frozen = rec.create(app, "stocktake", {"warehouse": wh, "freeze_stock": True, "stocktake_line": [
        {"item": it, "warehouse": wh} for it in items[5:9]]}, actor=ALICE)
    started = engine.fire(app, "stocktake", frozen["id"], "start", actor=ALICE)
    rows = [{"id": ln["id"], "counted_qty": "3.5"} for ln in started["stocktake_line"]]
    rec.update(app, "stocktake", frozen["id"], {"stocktake_line": rows}, actor=ALICE)
    engine.fire(app, "stocktake", frozen["id"], "submit_count", actor=ALICE)
    engine.fire(app, "stocktake", frozen["id"], "post", actor=ALICE)


def _plain(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in _STAMPS}


def _snapshot(jimu: Any, app: str) -> dict[str, Any]:
    from jimu.platform.ledger.tables import movement

    with jimu.db.read() as c:
        rt = jimu.apps.get(app, c)
        out: dict[str, Any] = {}
        for ent in ("stocktake", "stocktake_line"):
            t = rt.tables(ent)
            out[ent] = [_plain(r) for r in c.execute(sa.select(t).order_by(t.c.id)).mappings()]
        out["audit"] = [{k: v for k, v in _plain(r).items() if k not in ("id", "app")} for r in c.execute(
            sa.select(audit_log).where(audit_log.c.app == app).order_by(audit_log.c.id)).mappings()]
        out["events"] = []
        for r in c.execute(sa.select(events).where(events.c.app == app).order_by(events.c.seq)).mappings():
            e = {k: r[k] for k in ("kind", "entity", "record", "version", "changes", "data", "actor", "actor_roles",
                                   "depth")}
            if e["kind"] == "ledger.moved":  # movement ids come from a table the apps share
                e["record"] = None
                e["changes"] = [{k: v for k, v in ch.items() if k != "movement"} for ch in e["changes"]]
            elif isinstance((e["data"] or {}).get("record"), dict):
                e["data"] = {**e["data"], "record": {k: v for k, v in e["data"]["record"].items()
                                                     if k not in _STAMPS}}
            out["events"].append(e)
        m = movement.c
        out["movements"] = [_plain({k: v for k, v in r.items() if k not in ("id", "app")}) for r in c.execute(
            sa.select(movement).where(m.app == app).order_by(m.id)).mappings()]
        out["balances"] = sorted((b["item"], b["on_hand"]) for b in balances(
            c, app, as_ledger(rt.spec.ledger("stock"))))
    return out


@pytest.mark.slow
def test_set_based_line_writes_leave_what_the_generic_update_left(jimu, monkeypatch) -> None:
    install_template(jimu, "generic", "standard", sample_data=False)
    install_template(jimu, "setbased", "standard", sample_data=False)
    real = child_values.set_based_ok
    monkeypatch.setattr(child_values, "set_based_ok", lambda *a: False)
    _story(jimu, "generic")
    taken: list[bool] = []
    monkeypatch.setattr(child_values, "set_based_ok", lambda *a: taken.append(real(*a)) or taken[-1])
    _story(jimu, "setbased")
    # submit_count and post of each count: the set-based path, not a fallback
    assert taken.count(True) >= 4, taken
    generic, setbased = _snapshot(jimu, "generic"), _snapshot(jimu, "setbased")
    assert len(generic["stocktake_line"]) == N + 4
    posted = [ln for ln in generic["stocktake_line"] if ln["book_qty"] is not None]
    assert len(posted) == N + 4 and any(ln["variance"] != 0 for ln in posted)
    first = sorted((ln for ln in posted if ln["_parent_id"] == generic["stocktake"][0]["id"]), key=lambda ln: ln["item"])
    assert [ln["book_qty"] for ln in first[:5]] == [8, 9, 10, 11, 14]  # 10 + i received, -2 during the count
    assert not any(ln["blind"] for ln in generic["stocktake_line"])
    assert sum(a["action"] == "transition" for a in generic["audit"]) == 6  # start, submit_count, post x2
    assert any(e["kind"] == "ledger.moved" for e in generic["events"])
    for key in generic:
        assert setbased[key] == generic[key], key
