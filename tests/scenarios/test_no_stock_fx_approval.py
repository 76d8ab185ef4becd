"""The VP approval of a sales order compares CNY with the CNY threshold (``amount >
{{ vp_threshold }}``, 5000 by default), in the order's base currency where orders carry a
rate (contract's ``base_amount``, options.base_of: amount): a USD order no longer skips the
VP because its USD figure is small. Both databases, over HTTP, clock at 2026-01-05.

By hand (USD at 7.10): 1 × 1000.00 USD = 7100.00 CNY (over 5000, under it in USD);
1 × 600.00 USD = 4260.00 CNY (under); its line edited to 2 in draft = 1200.00 USD =
8520.00 CNY (over); CNY orders 1 × 4000.00 (under) and 1 × 6000.00 (over).
"""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import Scenario
from tests.scenarios.test_no_stock_base_amounts import trade  # noqa: F401  (the no_stock fixture)
from tests.scenarios.test_no_stock_contract import Trade


def _order(s: Trade, currency: str, rate: str, qty: str, price: str) -> dict[str, Any]:
    return s.create("sales", "sales_order", {"customer": s.ids["customer"], "warehouse": s.ids["warehouse"],
                                             "currency": currency, "fx_rate": rate,
                                             "lines": [{"item": s.ids["items"][0], "qty": qty, "price": price}]})


def _state(s: Scenario, rid: int) -> str:
    return str(s.record("manager", "sales_order", rid)["state"])


def test_usd_order_over_the_cny_threshold_goes_to_the_vp(trade: Trade) -> None:  # noqa: F811
    """USD 1000.00 (7100.00 CNY) waits for the VP after the manager; CNY 4000.00 is approved
    by the manager alone; CNY 6000.00 waits for the VP as before. Mutation seen to fail
    here: the condition back on the raw ``amount`` (``resolve_steps`` without ``in_base``:
    the USD order is approved by the manager alone, 1000 < 5000)."""
    s = trade
    usd = _order(s, "USD", "7.10", "1", "1000.00")
    assert (usd["amount"], usd["base_amount"]) == ("1000.00", "7100.00")
    cny_low = _order(s, "CNY", "1", "1", "4000.00")
    cny_high = _order(s, "CNY", "1", "1", "6000.00")
    for o in (usd, cny_low, cny_high):
        s.fire_ok("sales", "sales_order", o["id"], "submit")
        s.fire_ok("manager", "sales_order", o["id"], "approve")
    assert [_state(s, o["id"]) for o in (usd, cny_low, cny_high)] == ["pending_approval", "approved",
                                                                     "pending_approval"]
    r = s.fire("sales", "sales_order", usd["id"], "ship", {"warehouse_confirm_code": "1234", "logistics_no": "X"})
    assert r.status_code in (403, 409), r.text  # nothing ships before the VP
    s.fire_ok("vp", "sales_order", usd["id"], "approve")
    assert _state(s, usd["id"]) == "approved"


def test_edits_cannot_lower_the_order_under_the_threshold(trade: Trade) -> None:  # noqa: F811
    """A draft edit is seen by the submit (the line raised to 2 × 600.00 USD = 8520.00 CNY
    goes to the VP); once submitted, neither the lines (through the order or on their own) nor the rate
    change (409), so the
    amount the approval decided on is the amount approved; an order decided under the
    threshold (4260.00 CNY) cannot be raised after its approval either. Mutation seen to
    fail here: ``lines`` and ``fx_rate`` added to ``pending_approval``'s and ``approved``'s
    editable_fields in the sales_order unit (the edits pass)."""
    s = trade
    raised = _order(s, "USD", "7.10", "1", "600.00")
    line = raised["lines"][0]
    r = s.patch("sales", f"data/sales_order/{raised['id']}",
                {"lines": [{"id": line["id"], "item": line["item"], "qty": "2", "price": "600.00"}]})
    assert r.status_code == 200 and r.json()["base_amount"] == "8520.00", r.text
    s.fire_ok("sales", "sales_order", raised["id"], "submit")
    s.fire_ok("manager", "sales_order", raised["id"], "approve")
    assert _state(s, raised["id"]) == "pending_approval"  # the VP still has to decide

    low = _order(s, "USD", "7.10", "1", "600.00")
    s.fire_ok("sales", "sales_order", low["id"], "submit")
    line = low["lines"][0]
    bigger = {"lines": [{"id": line["id"], "item": line["item"], "qty": "10", "price": "600.00"}]}
    for user in ("sales", "admin"):  # the roles that may edit a draft's lines and rate
        for body in (bigger, {"fx_rate": "71.0"}):
            r = s.patch(user, f"data/sales_order/{low['id']}", body)
            assert r.status_code == 409 and r.json()["code"] == "workflow.state_locked", (user, body, r.text)
        r = s.patch(user, f"data/sales_order_line/{line['id']}", {"qty": "10"})  # the line on its own
        assert r.status_code == 409 and r.json()["code"] == "record.child_direct", (user, r.text)
    s.fire_ok("manager", "sales_order", low["id"], "approve")
    assert _state(s, low["id"]) == "approved"  # 4260.00 CNY: the manager alone
    for body in (bigger, {"fx_rate": "71.0"}):
        r = s.patch("admin", f"data/sales_order/{low['id']}", body)
        assert r.status_code == 409 and r.json()["code"] == "workflow.state_locked", (body, r.text)
    got = s.record("manager", "sales_order", low["id"])
    assert (got["amount"], got["fx_rate"], got["base_amount"]) == ("600.00", "7.100000", "4260.00")


def test_standard_template_unchanged(scenario: Scenario) -> None:
    """The standard template (one currency, no base field) keeps its condition text and its
    results: CNY 4000.00 is approved by the manager, 6000.00 waits for the VP. Mutation seen
    to fail here: ``in_base`` swapping ``amount`` for ``base_amount`` without looking for
    an ``options.base_of`` field (standard's orders have none: the 6000.00 order reads
    None and skips the VP)."""
    s = scenario
    spec = s.jimu.apps.get("standard").spec
    wf = spec.workflow_for("sales_order")
    assert wf is not None
    submit = next(t for t in wf.transitions if t.name == "submit")
    assert submit.approval is not None
    assert [st.condition for st in submit.approval.steps] == [None, "amount > 5000"]
    assert spec.entity("sales_order").base_field("amount") is None
    ids = []
    for price in ("4000.00", "6000.00"):
        o = s.create("sales", "sales_order", {"customer": s.ids["customers"][0], "warehouse": s.ids["warehouse"],
                                              "lines": [{"item": s.ids["items"][0], "qty": "1", "price": price}]})
        s.fire_ok("sales", "sales_order", o["id"], "submit")
        s.fire_ok("manager", "sales_order", o["id"], "approve")
        ids.append(o["id"])
    assert [_state(s, i) for i in ids] == ["approved", "pending_approval"]
