"""Supplier scorecard over HTTP on both databases (DESIGN 16): on-time rate, quality reject
rate and price variance per supplier per month from receipts and returns, ranked.

By hand (clock starts 2026-01-05; milk cost_price 8.40, bread 5.10):
- 光明乳业 (S1): PO1 milk 20 @ 8.40, expected 01-10, received 01-05 (on time); PO2 bread
  10 @ 5.61, expected 01-06, received 01-08 (late) → on-time 1/2 = 0.5000; received 30;
  price variance (0 × 20 + 0.51 × 10) / (8.40 × 20 + 5.10 × 10) = 5.10 / 219 = 0.023287…
  → 0.0233; no returns → reject 0.0000.
- 蒙牛 (S2): PO3 milk 40 @ 8.00, expected 01-08, received 01-08 (on time) → 1.0000;
  4 returned for quality on 01-08 → 4 / 40 = 0.1000; variance −0.40 × 40 / (8.40 × 40) =
  −0.047619… → −0.0476. PO4 milk 10, expected 01-30, received 02-02: February's, late.
- January ranking: S2 (1.0000) first, S1 (0.5000) second; February: S2 alone, 0.0000.

Mutations tried, each seen to fail: on time as strictly before the expected date (PO3,
received on its expected day, turns late: S2 0.0000 and the ranking flips); the month's
upper bound dropped (PO4 counts in January: S2 2 receipts); the return-reason filter
dropped (the ``other`` return of 2 counts: reject 0.1500).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.scenarios.conftest import Scenario, _scenario


@pytest.fixture
def sc(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    for s in _scenario(db_url, monkeypatch, None):
        from jimu.templates_market.installer import install_cbu

        install_cbu(s.jimu, "standard", "supplier_scorecard", sample_data=False)
        yield s


def _receive(s: Scenario, supplier: int, item: int, qty: str, price: str, expected: str) -> int:
    po = s.create("purchasing", "purchase_order", {"supplier": supplier, "warehouse": s.ids["warehouse"],
                                                   "expected_date": expected,
                                                   "lines": [{"item": item, "qty": qty, "price": price}]})
    s.fire_ok("purchasing", "purchase_order", po["id"], "submit")
    s.fire_ok("manager", "purchase_order", po["id"], "approve")
    s.fire_ok("warehouse", "purchase_order", po["id"], "receive")
    return int(po["id"])


def _return(s: Scenario, po: int, item: int, qty: str, reason: str) -> None:
    ret = s.create("purchasing", "purchase_return", {"purchase_order": po,
                                                     "lines": [{"item": item, "qty": qty, "reason": reason}]})
    s.fire_ok("manager", "purchase_return", ret["id"], "approve")
    s.fire_ok("warehouse", "purchase_return", ret["id"], "ship", {"logistics_no": "R1"})


def _card(s: Scenario, month: str) -> list[tuple[Any, ...]]:
    period = s.create("purchasing", "scorecard_period", {"month": month})
    s.fire_ok("purchasing", "scorecard_period", period["id"], "calculate")
    rows = s.get("purchasing", "data/supplier_scorecard", filter=f'month == "{month}"', sort="rank").json()["data"]
    return [(r["rank"], r["supplier"], r["receipts"], r["on_time_rate"], r["received_qty"], r["reject_rate"],
             r["price_variance"]) for r in rows]


def test_scorecard_month_ranking(sc: Scenario) -> None:
    s = sc
    milk, bread = s.ids["items"]
    s1 = s.ids["supplier"]
    s2 = s.create("purchasing", "supplier", {"name": "蒙牛"})["id"]
    _receive(s, s1, milk, "20", "8.40", "2026-01-10")
    po2 = s.create("purchasing", "purchase_order", {"supplier": s1, "warehouse": s.ids["warehouse"],
                                                    "expected_date": "2026-01-06",
                                                    "lines": [{"item": bread, "qty": "10", "price": "5.61"}]})
    s.fire_ok("purchasing", "purchase_order", po2["id"], "submit")
    s.fire_ok("manager", "purchase_order", po2["id"], "approve")
    s.advance("P3D")  # 2026-01-08
    s.fire_ok("warehouse", "purchase_order", po2["id"], "receive")
    po3 = _receive(s, s2, milk, "40", "8.00", "2026-01-08")  # received on its expected day
    _return(s, po3, milk, "4", "quality")
    _return(s, po3, milk, "2", "other")
    s.advance("P25D")  # 2026-02-02
    _receive(s, s2, milk, "10", "8.00", "2026-01-30")

    assert _card(s, "2026-01") == [
        (1, s2, 1, "1.0000", "40.0000", "0.1000", "-0.0476"),
        (2, s1, 2, "0.5000", "30.0000", "0.0000", "0.0233")]
    assert _card(s, "2026-02") == [(1, s2, 1, "0.0000", "10.0000", "0.0000", "-0.0476")]
    # Warehouse staff see no scorecards.
    assert s.get("warehouse", "data/supplier_scorecard").status_code in (403, 404)


def _df(s: Scenario) -> list[dict[str, Any]]:
    r = s.get("admin", "health")
    assert r.status_code == 200, r.text
    # Only the findings about the scorecard unit (the app may have others of its own).
    return [f for f in r.json()["findings"] if f["category"] == "DF" and "supplier_scorecard" in f["message"]]


def test_scorecard_on_employee_reviews_is_a_domain_fit_finding(sc: Scenario) -> None:
    """The seeds' example of misuse with the real unit: the installed supplier scorecard is
    clean (negative), then an app builder turns it into an employee review (an ``employee``
    link and a 员工绩效考核 label) and the health scan says so in plain words (positive).
    Mutation tried: ``plain_words`` returning "" (the plain sentence is missing: fails)."""
    s = sc
    assert _df(s) == []
    spec = s.jimu.store.draft("standard").dump()
    spec["entities"].append({"name": "employee", "label": {"zh": "员工", "en": "Employee"},
                             "fields": [{"name": "name", "type": "text", "label": {"zh": "姓名", "en": "Name"}}]})
    card = next(e for e in spec["entities"] if e["name"] == "supplier_scorecard")
    card["label"] = {"zh": "员工绩效考核", "en": "Employee review"}
    card["fields"].append({"name": "employee", "type": "link", "label": {"zh": "员工", "en": "Employee"},
                           "options": {"entity": "employee", "on_delete": "restrict"}})
    s.jimu.store.save_draft("standard", spec, author="admin")
    s.jimu.store.publish("standard", author="admin")
    found = {f["rule"]: f for f in _df(s)}
    assert {"DF-01", "DF-02"} <= set(found), found
    link = found["DF-01"]
    assert link["element"] == "field:supplier_scorecard.employee"
    assert "supplier_scorecard is made for suppliers and purchasing but is being used for employee reviews" \
        in link["message"], link["message"]
    assert "供应商评分卡 (Supplier scorecard)是给供应商与采购用的,现在被拿来做员工考核与人事" in link["message"]
    assert "employee reviews" in found["DF-02"]["message"]
