"""Multi-line transfers over HTTP (DESIGN 16): ``stock_transfer`` carries
``stock_transfer_line`` rows, in transit between ship and receive, a discrepancy per line
that arrives short, and from = to refused. Every balance below is computed by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from tests.contract.conftest import Server, problem
from tests.contract.helpers import APP, add_stock, fire, get, new_item

D = Decimal


def _two_warehouses(server: Server) -> tuple[dict[str, Any], dict[str, Any]]:
    out = []
    with server.client("admin") as c:
        for tag in ("甲", "乙"):
            r = c.post(f"/api/apps/{APP}/data/warehouse", json={"name": f"调拨仓{tag}-{uuid.uuid4().hex[:6]}",
                                                                "confirm_code": "7788"})
            assert r.status_code == 201, r.text
            out.append(dict(r.json()))
    return out[0], out[1]


def _bal(server: Server, item: int, wh: int) -> dict[str, Decimal]:
    with server.client("admin") as c:
        r = c.get(f"/api/apps/{APP}/ledgers/stock/balances", params={"item": item, "warehouse": wh})
        assert r.status_code == 200, r.text
        rows = r.json()["data"]
    if not rows:
        return {"on_hand": D(0), "in_transit": D(0), "available": D(0)}
    (row,) = rows
    return {k: D(row[k]) for k in ("on_hand", "in_transit", "available")}


def test_two_lines_in_transit_then_a_short_receipt_on_one(server: Server) -> None:
    """A holds 10 of x and 6 of y; a transfer of 4 x + 5 y to B ships: A on_hand 6 / 1,
    in_transit 4 / 5. B scans in 4 x but only 3 y: B on_hand 4 / 3, A in_transit 0 / 0,
    one open discrepancy for the y line (sent 5, received 3, difference -2); the lines keep
    received_qty 4 / 3.

    Mutation caught: receiving every line at the document's figure (y would land 5), or
    a discrepancy for the whole transfer instead of the short line."""
    a, b = _two_warehouses(server)
    x, y = new_item(server), new_item(server)
    add_stock(server, x["id"], a["id"], "10")
    add_stock(server, y["id"], a["id"], "6")
    with server.client("warehouse") as c:
        r = c.post(f"/api/apps/{APP}/data/stock_transfer", json={
            "from_warehouse": a["id"], "to_warehouse": b["id"],
            "lines": [{"item": x["id"], "qty": "4"}, {"item": y["id"], "qty": "5"}]})
        assert r.status_code == 201, r.text
        tr = r.json()
    lx, ly = tr["lines"]
    assert fire(server, "warehouse", tr, "ship", entity="stock_transfer").status_code == 200
    assert get(server, "warehouse", "stock_transfer", tr["id"])["state"] == "in_transit"
    assert _bal(server, x["id"], a["id"]) == {"on_hand": D(6), "in_transit": D(4), "available": D(6)}
    assert _bal(server, y["id"], a["id"]) == {"on_hand": D(1), "in_transit": D(5), "available": D(1)}
    bad = problem(fire(server, "warehouse", tr, "receive", {"receipts": [{"line": 999999, "received_qty": "1"}]},
                       entity="stock_transfer"), 422)
    assert bad["errors"][0]["field"] == "receipts.0.line"
    r = fire(server, "warehouse", tr, "receive", {"receipts": [{"line": ly["id"], "received_qty": "3"}]},
             entity="stock_transfer")
    assert r.status_code == 200, r.text
    done = get(server, "warehouse", "stock_transfer", tr["id"])
    assert done["state"] == "received"
    assert {ln["item"]: D(ln["received_qty"]) for ln in done["lines"]} == {x["id"]: D(4), y["id"]: D(3)}
    assert _bal(server, x["id"], b["id"]) == {"on_hand": D(4), "in_transit": D(0), "available": D(4)}
    assert _bal(server, y["id"], b["id"]) == {"on_hand": D(3), "in_transit": D(0), "available": D(3)}
    assert _bal(server, x["id"], a["id"])["in_transit"] == D(0)
    assert _bal(server, y["id"], a["id"])["in_transit"] == D(0)
    with server.client("warehouse") as c:
        r = c.get(f"/api/apps/{APP}/ledgers/stock/discrepancies", params={"transfer": tr["id"]})
        assert r.status_code == 200, r.text
        (disc,) = r.json()["data"]
    assert disc["transfer"]["line"] == str(ly["id"]) and disc["state"] == "open"
    assert (D(disc["sent"]), D(disc["received"]), D(disc["difference"])) == (D(5), D(3), D(-2))


def test_from_equal_to_is_422_and_a_short_line_is_409_naming_the_item(server: Server) -> None:
    """from = to is refused at create (422 on to_warehouse). A transfer whose second line
    is short moves nothing (409 naming that item as ``sku name``, in English when asked).

    Mutation caught: dropping the to_warehouse rule (the transfer to itself is created)."""
    a, b = _two_warehouses(server)
    x, y = new_item(server), new_item(server)
    add_stock(server, x["id"], a["id"], "10")
    add_stock(server, y["id"], a["id"], "1")
    with server.client("warehouse") as c:
        body = problem(c.post(f"/api/apps/{APP}/data/stock_transfer", json={
            "from_warehouse": a["id"], "to_warehouse": a["id"], "lines": [{"item": x["id"], "qty": "1"}]}), 422)
        assert any(e["field"] == "to_warehouse" for e in body["errors"]), body
        tr = c.post(f"/api/apps/{APP}/data/stock_transfer", json={
            "from_warehouse": a["id"], "to_warehouse": b["id"],
            "lines": [{"item": x["id"], "qty": "2"}, {"item": y["id"], "qty": "3"}]}).json()
        r = c.post(f"/api/apps/{APP}/data/stock_transfer/{tr['id']}/transitions/ship", json={"inputs": {}},
                   headers={"Accept-Language": "en"})
    body = problem(r, 409)
    assert body["detail"] == (f"Not enough stock of {y['sku']} {y['name']} at {a['name']}: "
                              f"requested 3, available 1")
    assert get(server, "warehouse", "stock_transfer", tr["id"])["state"] == "draft"
    assert _bal(server, x["id"], a["id"]) == {"on_hand": D(10), "in_transit": D(0), "available": D(10)}
