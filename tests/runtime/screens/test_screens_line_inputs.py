"""The partial ship / partial receipt dialogs of the detail screen (screens/line_inputs.py):
one quantity box per line, filled with what is left, in zh and en; the posted boxes
become the transition's ``lines`` input.

Mutations tried:
- the dialog's boxes ignored (``parse_line_inputs`` returning None): the emptied ship
  dialog ships everything (303 instead of 422) and receiving 1.5 of 4 receives all 4
  (state ``received`` instead of ``partially_received``).
- an emptied dialog taken as "everything" (the ``line_qty_none`` error dropped): the
  order ships in full instead of a 422 that reopens the dialog.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jimu.platform.ledger import balances
from tests.runtime.screens.conftest import find


def _approved_order(std: Any, qty: str) -> tuple[dict[str, Any], int, int]:
    wh = find(std, "warehouse", 'code == "WH-SH"')["id"]
    item = find(std, "item", 'sku == "SKU-A002"')["id"]
    cust = find(std, "customer", 'code == "C-002"')["id"]
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine

    so = std.records.create("standard", "sales_order", {"customer": cust, "warehouse": wh,
                                                        "lines": [{"item": item, "qty": qty}]})
    eng = WorkflowEngine(std)
    eng.fire("standard", "sales_order", so["id"], "submit", {}, Actor("sales", ("sales",)))
    eng.fire("standard", "sales_order", so["id"], "approve", {}, Actor("manager", ("manager",)))
    return so, item, wh


def _reserved(std: Any, item: int, wh: int) -> Decimal:
    lg = std.apps.get("standard").spec.ledger("stock")
    with std.db.read() as c:
        return sum((Decimal(r["reserved"]) for r in balances(c, "standard", lg, item=item, warehouse=wh)), Decimal(0))


def test_partial_ship_dialog_in_both_languages(login, std):
    so, item, wh = _approved_order(std, "3")
    line = so["lines"][0]["id"]
    url = f"/app/standard/sales_order/{so['id']}"
    before = _reserved(std, item, wh)
    zh = login("warehouse").get(url).text
    assert 'data-line-input="lines"' in zh and "本次数量" in zh and "未完成" in zh and "全麦面包" in zh
    assert f'name="lines.{line}.qty"' in zh and 'value="3"' in zh  # the box holds what is left
    w = login("warehouse", lang="en")
    en = w.get(url).text
    assert "This time" in en and "Left" in en and "This shipment" in en

    csrf = w.cookies.get("jimu_csrf")
    empty = w.post(url + "/transition/ship", data={"csrf_token": csrf, "warehouse_confirm_code": "1234",
                                                   "logistics_no": "SF-L1", f"lines.{line}.qty": ""})
    assert empty.status_code == 422 and "Enter a quantity on at least one line" in empty.text
    assert std.records.get("standard", "sales_order", so["id"])["state"] == "approved"

    ok = w.post(url + "/transition/ship", data={"csrf_token": csrf, "warehouse_confirm_code": "1234",
                                                "logistics_no": "SF-L1", f"lines.{line}.qty": "1"})
    assert ok.status_code == 303, ok.text[:2000]
    rec = std.records.get("standard", "sales_order", so["id"])
    assert rec["state"] == "partially_shipped" and rec["lines"][0]["shipped_qty"] == Decimal(1)
    assert _reserved(std, item, wh) == before - 1  # 3 reserved, 1 shipped: 2 stay held
    again = w.get(url).text
    assert 'value="2"' in again and "部分发货" not in again  # en screen: the rest (2) is offered
    assert "Partially shipped" in again


def test_receive_dialog_offers_the_lines_left(login, std):
    wh = find(std, "warehouse", 'code == "WH-SH"')["id"]
    item = find(std, "item", 'sku == "SKU-A003"')["id"]
    supplier = std.records.create("standard", "supplier", {"name": "对话框供应商"})["id"]
    po = std.records.create("standard", "purchase_order", {"supplier": supplier, "warehouse": wh,
                                                           "lines": [{"item": item, "qty": "4"}]})
    from jimu.platform.actor import Actor
    from jimu.runtime.workflow.engine import WorkflowEngine

    eng = WorkflowEngine(std)
    eng.fire("standard", "purchase_order", po["id"], "submit", {}, Actor("purchasing", ("purchasing",)))
    eng.fire("standard", "purchase_order", po["id"], "approve", {}, Actor("manager", ("manager",)))
    line = po["lines"][0]["id"]
    url = f"/app/standard/purchase_order/{po['id']}"
    w = login("warehouse")
    html = w.get(url).text
    assert 'id="dlg-receive"' in html and f'name="lines.{line}.qty"' in html and "苹果 (箱)" in html
    r = w.post(url + "/transition/receive", data={"csrf_token": w.cookies.get("jimu_csrf"), f"lines.{line}.qty": "1.5"})
    assert r.status_code == 303, r.text[:2000]
    rec = std.records.get("standard", "purchase_order", po["id"])
    assert rec["state"] == "partially_received" and rec["lines"][0]["received_qty"] == Decimal("1.5")
