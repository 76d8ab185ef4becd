"""Blind counts, the freeze and class-limited starts of stocktakes (DESIGN 16, issue 18),
over HTTP on both backends. Every quantity below is set by the test itself.

Mutations checked (each makes a test here fail):
- drop the ``mask`` rules of ``stocktake_line`` in the warehouse role of
  ``jimu/cbu_library/stocktake/cbu.yaml``: the counter reads system_qty 9 during the blind
  count (``test_blind_count_hides_the_book_until_submit``);
- drop the ``set_lines`` action of ``submit_count``: the counter never sees the figures;
- make ``jimu.runtime.stock.freeze.guard`` return at once: the adjustment during a
  frozen count is accepted (``test_freeze_refuses_movements_of_counted_items``);
- drop ``stock_unfreeze`` from ``post``: the count's own post is refused (409).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tests.contract.conftest import Server, problem
from tests.contract.helpers import APP, add_stock, balance, fire, get, new_item

_HIDDEN = ("system_qty", "book_qty", "variance", "variance_rate")


def _warehouse(server: Server) -> dict[str, Any]:
    with server.client("admin") as c:
        r = c.post(f"/api/apps/{APP}/data/warehouse",
                   json={"name": "盲盘仓-" + uuid.uuid4().hex[:8], "confirm_code": "ST2"})
        assert r.status_code == 201, r.text
        return dict(r.json())


def _stocktake(server: Server, wh: int, items: list[int], **fields: Any) -> dict[str, Any]:
    with server.client("warehouse") as c:
        r = c.post(f"/api/apps/{APP}/data/stocktake", json={
            "warehouse": wh, **fields, "stocktake_line": [{"item": i, "warehouse": wh} for i in items]})
        assert r.status_code == 201, r.text
        st = dict(r.json())
    assert fire(server, "warehouse", st, "start", entity="stocktake").status_code == 200
    return st


def _type_counts(server: Server, st: dict[str, Any], counts: dict[int, str]) -> None:
    st = get(server, "warehouse", "stocktake", st["id"])
    with server.client("warehouse") as c:
        r = c.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}", headers={"If-Match": f'"{st["version"]}"'},
                    json={"stocktake_line": [{"id": ln["id"], "counted_qty": counts[ln["item"]]}
                                             for ln in st["stocktake_line"]]})
        assert r.status_code == 200, r.text


def test_blind_count_hides_the_book_until_submit(server: Server) -> None:
    """9 on the books; a blind count: the counter (warehouse role) sees no system_qty,
    variance or book figure on GET, the child list, the parent's lines and OpenAPI marks the
    fields masked; a filter on them and the line's trace are refused; the manager sees 9.
    After submit_count the counter sees 9 and the variance 7 - 9 = -2."""
    wh = _warehouse(server)
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "9")
    st = _stocktake(server, wh["id"], [item["id"]], blind=True)
    line = get(server, "warehouse", "stocktake", st["id"])["stocktake_line"][0]
    assert line["blind"] is True
    assert all(line[k] is None for k in _HIDDEN), line
    assert Decimal(get(server, "manager", "stocktake", st["id"])["stocktake_line"][0]["system_qty"]) == 9
    with server.client("warehouse") as c:
        r = c.get(f"/api/apps/{APP}/data/stocktake_line/{line['id']}")
        assert r.status_code == 200 and r.json()["system_qty"] is None, r.text
        rows = c.get(f"/api/apps/{APP}/data/stocktake_line", params={"limit": 500}).json()["data"]
        assert [x["system_qty"] for x in rows if x["id"] == line["id"]] == [None]
        assert c.get(f"/api/apps/{APP}/data/stocktake_line",
                     params={"filter": "system_qty > 5"}).status_code in (400, 403, 422)
        problem(c.get(f"/api/apps/{APP}/data/stocktake_line/{line['id']}/trace"), 403)
        schema = c.get(f"/api/apps/{APP}/openapi.json").json()["components"]["schemas"]["StocktakeLine"]
        assert all(schema["properties"][k].get("x-jimu-masked") is True for k in _HIDDEN)
        # the counter may still type the count, but not the flag
        problem(c.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}",
                        headers={"If-Match": f'"{get(server, "warehouse", "stocktake", st["id"])["version"]}"'},
                        json={"stocktake_line": [{"id": line["id"], "blind": False}]}), 403)
    with server.client("manager") as c:
        schema = c.get(f"/api/apps/{APP}/openapi.json").json()["components"]["schemas"]["StocktakeLine"]
        assert "x-jimu-masked" not in schema["properties"]["system_qty"]
    _type_counts(server, st, {item["id"]: "7"})
    line = get(server, "warehouse", "stocktake", st["id"])["stocktake_line"][0]
    assert line["system_qty"] is None and line["variance"] is None  # typed, still hidden
    assert fire(server, "warehouse", st, "submit_count", entity="stocktake").status_code == 200
    line = get(server, "warehouse", "stocktake", st["id"])["stocktake_line"][0]
    assert line["blind"] is False
    assert Decimal(line["system_qty"]) == 9 and Decimal(line["variance"]) == -2  # 7 - 9
    assert fire(server, "manager", st, "post", entity="stocktake").status_code == 200
    assert balance(server, item["id"], wh["id"])["on_hand"] == 7


def test_freeze_refuses_movements_of_counted_items(server: Server) -> None:
    """A frozen count of item A in warehouse W: an adjustment of A in W is 409
    ``stocktake.in_progress`` naming the number and ``sku name`` (zh and en); A in another
    warehouse and item B in W still move; after post A moves again. on_hand of A: 5 at
    start, counted 4, then +1 = 5."""
    wh, other = _warehouse(server), _warehouse(server)
    a, b = new_item(server), new_item(server)
    add_stock(server, a["id"], wh["id"], "5")
    add_stock(server, a["id"], other["id"], "2")
    st = _stocktake(server, wh["id"], [a["id"]], freeze_stock=True)
    number = get(server, "manager", "stocktake", st["id"])["number"]
    body = {"item": a["id"], "warehouse": wh["id"], "qty": "-1", "reason": "damage"}
    for lang, word in (("zh-CN,zh;q=0.9", "盘点单"), ("en-US,en;q=0.8", "Stocktake")):
        with server.client("warehouse") as c:
            r = c.post(f"/api/apps/{APP}/data/stock_adjustment", json=body, headers={"Accept-Language": lang})
        p = problem(r, 409)
        assert p["code"] == "stocktake.in_progress"
        assert p["detail"].startswith(word) and number in p["detail"]
        assert f"{a['sku']} {a['name']}" in p["detail"]
        assert p["stocktake"] == {"entity": "stocktake", "id": st["id"], "number": number}
    assert balance(server, a["id"], wh["id"])["on_hand"] == 5  # nothing moved
    add_stock(server, a["id"], other["id"], "1")  # another warehouse: not frozen
    add_stock(server, b["id"], wh["id"], "3")  # another item: not counted
    _type_counts(server, st, {a["id"]: "4"})
    assert fire(server, "warehouse", st, "submit_count", entity="stocktake").status_code == 200
    assert fire(server, "manager", st, "post", entity="stocktake").status_code == 200
    add_stock(server, a["id"], wh["id"], "1")  # posted: the freeze is lifted
    assert balance(server, a["id"], wh["id"])["on_hand"] == 5  # 4 + 1
    assert balance(server, a["id"], other["id"])["on_hand"] == 3  # 2 + 1


def test_cancel_lifts_the_freeze(server: Server) -> None:
    """A frozen count cancelled: the item moves again (3 + 2 = 5)."""
    wh = _warehouse(server)
    a = new_item(server)
    add_stock(server, a["id"], wh["id"], "3")
    st = _stocktake(server, wh["id"], [a["id"]], freeze_stock=True)
    with server.client("warehouse") as c:
        problem(c.post(f"/api/apps/{APP}/data/stock_adjustment",
                       json={"item": a["id"], "warehouse": wh["id"], "qty": "2", "reason": "correction"}), 409)
    assert fire(server, "warehouse", st, "cancel", entity="stocktake").status_code == 200
    add_stock(server, a["id"], wh["id"], "2", reason="correction")
    assert balance(server, a["id"], wh["id"])["on_hand"] == 5


def test_start_without_lines_limited_to_abc_class(server: Server) -> None:
    """Items of class A (6 in stock) and C (4): an empty stocktake of class A gets one
    line, the A item's, with system_qty 6."""
    wh = _warehouse(server)
    a, c_item = new_item(server), new_item(server)
    with server.client("admin") as c:
        for it, cls in ((a, "A"), (c_item, "C")):
            r = c.patch(f"/api/apps/{APP}/data/item/{it['id']}", headers={"If-Match": f'"{it["version"]}"'},
                        json={"abc_class": cls})
            assert r.status_code == 200, r.text
    add_stock(server, a["id"], wh["id"], "6")
    add_stock(server, c_item["id"], wh["id"], "4")
    st = _stocktake(server, wh["id"], [], abc_class="A")
    lines = get(server, "manager", "stocktake", st["id"])["stocktake_line"]
    assert [(ln["item"], Decimal(ln["system_qty"])) for ln in lines] == [(a["id"], Decimal(6))]
