"""Cycle counts by ABC class on schedule (DESIGN 16, issue 18), driven by the test clock
over HTTP on both backends: the stocktake CBU's daily ``cycle_counts`` automation creates
one draft stocktake per warehouse and class when due (A every 30 days, B 90, C 365 — the
CBU params' defaults).

Mutation checked: in ``jimu/runtime/stock/cycle.py`` ``due_classes``, ignore the last
posted count (``last = None``): the day after class A was counted a second A count is
created and the test fails; and dropping the open-stocktake check creates a second C
draft the next day.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.contract.conftest import Server
from tests.contract.helpers import APP, add_stock, fire, get, new_item


def _tick(server: Server, advance: str) -> None:
    with server.client("admin") as c:
        r = c.post("/api/admin/clock", json={"advance": advance})
        assert r.status_code == 200, r.text


def _settled(server: Server, wh: int, want: int) -> list[dict[str, Any]]:
    """The warehouse's stocktakes once there are ``want`` of them (the server's own
    scheduler loop may claim the tick's job before the clock route does and dispatch its
    actions a moment later), or as they are after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        got = _counts(server, wh)
        if len(got) >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def _counts(server: Server, wh: int) -> list[dict[str, Any]]:
    with server.client("manager") as c:
        r = c.get(f"/api/apps/{APP}/data/stocktake", params={"filter": f"warehouse == {wh}", "limit": 100,
                                                             "sort": "id"})
        assert r.status_code == 200, r.text
        return list(r.json()["data"])


def test_cycle_counts_follow_abc_classes(server: Server) -> None:
    """A fresh warehouse with an A item (stock 5) and a C item (stock 2), no B item:
    day 1 -> one draft count of A and one of C (none of B). A is counted and posted on day
    1; day 2 -> nothing new (A counted 1 day ago, C still open), while a second warehouse
    stocked with a B item after day 1 gets its B count (which shows day 2's run is done);
    day 1 + 31 -> a new A count (31 >= 30 days), still no second C (open)."""
    with server.client("admin") as c:
        wh, wh2 = (c.post(f"/api/apps/{APP}/data/warehouse", json={"name": "循环仓-" + uuid.uuid4().hex[:8],
                                                                    "confirm_code": "CY1"}).json()["id"]
                   for _ in range(2))
    a, b, c_item = new_item(server), new_item(server), new_item(server)
    with server.client("admin") as c:
        for it, cls in ((a, "A"), (b, "B"), (c_item, "C")):
            r = c.patch(f"/api/apps/{APP}/data/item/{it['id']}", headers={"If-Match": f'"{it["version"]}"'},
                        json={"abc_class": cls})
            assert r.status_code == 200, r.text
    add_stock(server, a["id"], wh, "5")
    add_stock(server, c_item["id"], wh, "2")
    assert _counts(server, wh) == []

    _tick(server, "PT24H")
    made = _settled(server, wh, 2)
    assert sorted((x["abc_class"], x["state"]) for x in made) == [("A", "draft"), ("C", "draft")]
    count_a = next(x for x in made if x["abc_class"] == "A")
    assert fire(server, "warehouse", count_a, "start", entity="stocktake").status_code == 200
    doc = get(server, "warehouse", "stocktake", count_a["id"])
    assert [ln["item"] for ln in doc["stocktake_line"]] == [a["id"]]  # only the class's item
    with server.client("warehouse") as c:
        r = c.patch(f"/api/apps/{APP}/data/stocktake/{doc['id']}", headers={"If-Match": f'"{doc["version"]}"'},
                    json={"stocktake_line": [{"id": doc["stocktake_line"][0]["id"], "counted_qty": "5"}]})
        assert r.status_code == 200, r.text
    assert fire(server, "warehouse", count_a, "submit_count", entity="stocktake").status_code == 200
    assert fire(server, "manager", count_a, "post", entity="stocktake").status_code == 200

    add_stock(server, b["id"], wh2, "3")  # a B item in the second warehouse: due on day 2
    _tick(server, "PT24H")
    assert [x["abc_class"] for x in _settled(server, wh2, 1)] == ["B"]  # day 2's run is done...
    assert len(_counts(server, wh)) == 2  # ... and in the first warehouse nothing was due

    _tick(server, "PT720H")  # 31 days after the A count
    after = _settled(server, wh, 3)
    assert sorted((x["abc_class"], x["state"]) for x in after) == [("A", "draft"), ("A", "posted"), ("C", "draft")]
