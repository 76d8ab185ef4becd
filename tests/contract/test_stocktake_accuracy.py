"""``GET /api/apps/{app}/reports/inventory-accuracy`` (账实差异率, DESIGN 16), over HTTP on
both backends, every figure computed by hand below.

Mutation checked: take Σ variance instead of Σ|variance| in
``jimu/runtime/stock/accuracy.py`` (drop the ``abs``): -2 and +1 sum to 1, not 3, and the
first figures below fail; measure the variance against ``system_qty`` instead of the book
at posting and the second count's 15 - 20 = -5 shows up as 8 instead of 3.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tests.contract.conftest import Server
from tests.contract.helpers import APP, add_stock, fire, get, new_item

URL = f"/api/apps/{APP}/reports/inventory-accuracy"


def _warehouse(server: Server) -> int:
    with server.client("admin") as c:
        r = c.post(f"/api/apps/{APP}/data/warehouse", json={"name": "准确率仓-" + uuid.uuid4().hex[:8],
                                                              "confirm_code": "AC1"})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def _count(server: Server, wh: int, counts: dict[int, str], *, during: Any = None, **fields: Any) -> None:
    """Create, start, (``during()``), count and post a stocktake of ``counts``' items."""
    with server.client("warehouse") as c:
        r = c.post(f"/api/apps/{APP}/data/stocktake", json={"warehouse": wh, **fields, "stocktake_line": [
            {"item": i, "warehouse": wh} for i in counts]})
        assert r.status_code == 201, r.text
        st = r.json()
    assert fire(server, "warehouse", st, "start", entity="stocktake").status_code == 200
    if during is not None:
        during()
    doc = get(server, "warehouse", "stocktake", st["id"])
    with server.client("warehouse") as c:
        r = c.patch(f"/api/apps/{APP}/data/stocktake/{st['id']}", headers={"If-Match": f'"{doc["version"]}"'},
                    json={"stocktake_line": [{"id": ln["id"], "counted_qty": counts[ln["item"]]}
                                             for ln in doc["stocktake_line"]]})
        assert r.status_code == 200, r.text
    assert fire(server, "warehouse", st, "submit_count", entity="stocktake").status_code == 200
    assert fire(server, "manager", st, "post", entity="stocktake").status_code == 200


def _row(server: Server, wh: int, user: str = "manager") -> dict[str, Any]:
    with server.client(user) as c:
        r = c.get(URL, params={"warehouse": wh})
        assert r.status_code == 200, r.text
        body = r.json()
    assert body["days"] == 90 and body["next_cursor"] is None
    assert date.fromisoformat(body["to"]) - date.fromisoformat(body["from"]) == timedelta(days=90)
    assert [x["warehouse"] for x in body["data"]] == [wh]
    return dict(body["data"][0])


def test_inventory_accuracy_per_warehouse(server: Server) -> None:
    """Count 1: a 10 on the books counted 8 (-2), b 40 counted 41 (+1): Σ|v| 3, Σ system
    50, rate 3/50 = 0.06. Count 2: c 20 at start, -5 during the count (book 15), counted
    15: variance 0, Σ system 50 + 15 = 65, rate 3/65 = 0.0462. A count dated 100 days ago
    (d: 7 counted 1) is outside the 90 days and changes nothing."""
    wh = _warehouse(server)
    a, b, c_item, d = (new_item(server) for _ in range(4))
    add_stock(server, a["id"], wh, "10")
    add_stock(server, b["id"], wh, "40")
    add_stock(server, c_item["id"], wh, "20")
    add_stock(server, d["id"], wh, "7")
    _count(server, wh, {a["id"]: "8", b["id"]: "41"})
    row = _row(server, wh)
    assert row["stocktakes"] == 1 and row["lines"] == 2
    assert (Decimal(row["absolute_variance"]), Decimal(row["system"]), Decimal(row["rate"])) == (3, 50, Decimal("0.06"))
    assert row["warehouse_name"].startswith("准确率仓-")

    _count(server, wh, {c_item["id"]: "15"},
           during=lambda: add_stock(server, c_item["id"], wh, "-5", reason="damage"))
    old = date.fromisoformat(_today(server)) - timedelta(days=100)
    _count(server, wh, {d["id"]: "1"}, count_date=old.isoformat())
    row = _row(server, wh)
    assert row["stocktakes"] == 2 and row["lines"] == 3
    assert Decimal(row["absolute_variance"]) == 3 and Decimal(row["system"]) == 65
    assert Decimal(row["rate"]) == Decimal("0.0462")  # 3 / 65 = 0.04615... to 4 places
    assert _row(server, wh, "warehouse") == row  # the counters may read stocktakes too


def _today(server: Server) -> str:
    with server.client("manager") as c:
        return str(c.get(URL).json()["to"])


def test_inventory_accuracy_access_and_openapi(server: Server) -> None:
    """Callers who may not read stocktakes get 404 and no operation in their OpenAPI
    document; a bad parameter is 422."""
    with server.client("sales") as c:
        assert c.get(URL).status_code in (403, 404)
        assert f"/api/apps/{APP}/reports/inventory-accuracy" not in c.get(f"/api/apps/{APP}/openapi.json").json()["paths"]
    with server.client("manager") as c:
        paths = c.get(f"/api/apps/{APP}/openapi.json").json()["paths"]
        assert paths[f"/api/apps/{APP}/reports/inventory-accuracy"]["get"]["operationId"] == "get_inventory_accuracy_report"
        assert c.get(URL, params={"days": "zero"}).status_code == 422
        assert c.get(URL, params={"item": "1"}).status_code == 422
