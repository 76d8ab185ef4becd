"""The standard template's stock_transfer workflow is a two-sided transfer: ``ship`` scans
out at the source, ``receive`` scans in what arrived at the target, and a difference opens
a transfer discrepancy (never a silent adjustment). Stable names stay as DESIGN 15 says."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from jimu.core.errors import StockConflict, ValidationError
from jimu.platform.actor import Actor
from jimu.platform.ledger import as_ledger, balances, movements, verify
from jimu.runtime.stock import discrepancies
from jimu.runtime.workflow.engine import WorkflowEngine
from jimu.templates_market.installer import install_template

APP = "standard"
WH = Actor("wh", ("warehouse",))


@pytest.fixture
def std(jimu: Any) -> dict[str, Any]:
    install_template(jimu, APP, "standard", sample_data=False)
    rec = jimu.records
    a = rec.create(APP, "warehouse", {"name": "A", "confirm_code": "1111"})["id"]
    b = rec.create(APP, "warehouse", {"name": "B", "confirm_code": "2222"})["id"]
    item = rec.create(APP, "item", {"sku": "S-1", "name": "Strawberry box"})["id"]
    rec.create(APP, "stock_adjustment", {"item": item, "warehouse": a, "qty": "20", "reason": "opening"})
    return {"a": a, "b": b, "item": item, "engine": WorkflowEngine(jimu)}


def _bal(jimu: Any, item: int, wh: int) -> dict[str, Decimal]:
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        (row,) = balances(c, APP, lg, item=item, warehouse=wh)
    return {k: row[k] for k in ("on_hand", "in_transit", "available")}


def _transfer(jimu: Any, std: dict[str, Any], qty: str) -> dict[str, Any]:
    return dict(jimu.records.create(APP, "stock_transfer", {"item": std["item"], "from_warehouse": std["a"],
                                                            "to_warehouse": std["b"], "qty": qty}, actor=WH))


def _disc(jimu: Any, transfer: Any) -> list[dict[str, Any]]:
    lg = as_ledger(jimu.apps.get(APP).spec.ledger("stock"))
    with jimu.db.read() as c:
        return discrepancies(c, APP, lg, transfer=transfer)


def test_stable_names_of_the_transfer_workflow(jimu: Any, std: dict[str, Any]) -> None:
    spec = jimu.apps.get(APP).spec
    wf = spec.workflow_for("stock_transfer")
    assert [s.name for s in wf.states] == ["draft", "in_transit", "received", "cancelled"]
    assert [t.name for t in wf.transitions] == ["ship", "receive", "cancel"]
    assert {f.name for f in spec.entity("stock_transfer").fields} >= {
        "number", "item", "from_warehouse", "to_warehouse", "qty", "state", "received_qty"}
    # The transfer moves stock through the two-sided functions only, never a plain posting too.
    assert not [p for p in spec.ledger("stock").postings if p.entity == "stock_transfer"]


def test_short_receipt_opens_a_discrepancy(jimu: Any, std: dict[str, Any]) -> None:
    eng, item, a, b = std["engine"], std["item"], std["a"], std["b"]
    tr = _transfer(jimu, std, "10")
    shipped = eng.fire(APP, "stock_transfer", tr["id"], "ship", actor=WH)
    assert shipped["state"] == "in_transit"
    assert _bal(jimu, item, a) == {"on_hand": Decimal("10"), "in_transit": Decimal("10"), "available": Decimal("10")}
    got = eng.fire(APP, "stock_transfer", tr["id"], "receive", {"received_qty": "8"}, actor=Actor("wh_b", ("warehouse",)))
    assert got["state"] == "received" and Decimal(got["received_qty"]) == 8
    assert _bal(jimu, item, a)["in_transit"] == 0 and _bal(jimu, item, a)["on_hand"] == 10
    assert _bal(jimu, item, b)["on_hand"] == 8
    (d,) = _disc(jimu, tr["id"])
    assert (d["sent"], d["received"], d["difference"], d["state"], d["created_by"]) == (
        Decimal("10"), Decimal("8"), Decimal("-2"), "open", "wh_b")
    lg = jimu.apps.get(APP).spec.ledger("stock")
    with jimu.db.read() as c:
        moves = [m for m in movements(c, APP, lg) if m["document"]["entity"] == "stock_transfer"]
    # Scan out, scan in, and the 2 that did not arrive leave in_transit pointing at the discrepancy;
    # nothing is adjusted at the target.
    assert [(m["kind"], m["user"]) for m in moves] == [
        ("transfer_out", "wh"), ("transfer_in", "wh_b"), ("transfer_in", "wh_b"), ("transfer_short", "wh_b")]
    assert all(m["document"]["id"] == str(tr["id"]) for m in moves)
    assert verify(jimu.db, APP) == []


def test_exact_and_over_receipt(jimu: Any, std: dict[str, Any]) -> None:
    eng, item, b = std["engine"], std["item"], std["b"]
    exact = _transfer(jimu, std, "5")
    eng.fire(APP, "stock_transfer", exact["id"], "ship", actor=WH)
    done = eng.fire(APP, "stock_transfer", exact["id"], "receive", actor=WH)  # no input: all that was sent
    assert Decimal(done["received_qty"]) == 5 and _disc(jimu, exact["id"]) == []
    assert _bal(jimu, item, b)["on_hand"] == 5
    over = _transfer(jimu, std, "4")
    eng.fire(APP, "stock_transfer", over["id"], "ship", actor=WH)
    eng.fire(APP, "stock_transfer", over["id"], "receive", {"received_qty": "6"}, actor=WH)
    (d,) = _disc(jimu, over["id"])
    assert d["difference"] == Decimal("2") and d["state"] == "open"
    assert _bal(jimu, item, b)["on_hand"] == 9  # the surplus waits on the discrepancy
    assert verify(jimu.db, APP) == []


def test_refusals_leave_nothing_behind(jimu: Any, std: dict[str, Any]) -> None:
    eng, item, a = std["engine"], std["item"], std["a"]
    big = _transfer(jimu, std, "25")
    with pytest.raises(StockConflict):
        eng.fire(APP, "stock_transfer", big["id"], "ship", actor=WH)
    assert jimu.records.get(APP, "stock_transfer", big["id"])["state"] == "draft"
    assert _bal(jimu, item, a) == {"on_hand": Decimal("20"), "in_transit": Decimal("0"), "available": Decimal("20")}
    tr = _transfer(jimu, std, "3")
    eng.fire(APP, "stock_transfer", tr["id"], "ship", actor=WH)
    with pytest.raises(ValidationError) as bad:
        eng.fire(APP, "stock_transfer", tr["id"], "receive", {"received_qty": "-1"}, actor=WH)
    assert [e.field for e in bad.value.errors] == ["received_qty"]
    assert jimu.records.get(APP, "stock_transfer", tr["id"])["state"] == "in_transit"
    assert _bal(jimu, item, a)["in_transit"] == 3 and _disc(jimu, tr["id"]) == []


def _ledger_events(jimu: Any) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    from jimu.runtime.events.tables import events

    with jimu.db.read() as c:
        rows = c.execute(sa.select(events).where(events.c.kind == "ledger.moved").order_by(events.c.seq))
        return [dict(r) for r in rows.mappings()]


def test_transitions_send_ledger_moved_in_their_transaction(jimu: Any, std: dict[str, Any]) -> None:
    eng = std["engine"]
    before = len(_ledger_events(jimu))  # the opening adjustment's posting
    big = _transfer(jimu, std, "99")
    with pytest.raises(StockConflict):
        eng.fire(APP, "stock_transfer", big["id"], "ship", actor=WH)
    assert len(_ledger_events(jimu)) == before  # refused and rolled back: no event
    tr = _transfer(jimu, std, "6")
    eng.fire(APP, "stock_transfer", tr["id"], "ship", actor=WH)
    eng.fire(APP, "stock_transfer", tr["id"], "receive", {"received_qty": "5"}, actor=WH)
    ship, receive = _ledger_events(jimu)[before:]
    assert [c["kind"] for c in ship["changes"]] == ["transfer_out"]
    assert [c["kind"] for c in receive["changes"]] == ["transfer_in", "transfer_in", "transfer_short"]
    assert {c["document"]["id"] for c in ship["changes"] + receive["changes"]} == {str(tr["id"])}
    assert ship["actor"] == "wh" and ship["actor_roles"] == ["warehouse"]
