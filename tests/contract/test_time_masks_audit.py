"""Test clock (30-minute expiry, 48-hour escalation), masks, health report, audit, SSE."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import httpx

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, add_stock, balance, fire, get, new_item, new_order


def advance(server: Server, duration: str) -> None:
    with server.client("admin") as c:
        r = c.post("/api/admin/clock", json={"advance": duration})
        assert r.status_code == 200, r.text


def test_clock_is_admin_only(server: Server) -> None:
    with server.client("sales") as c:
        problem(c.post("/api/admin/clock", json={"advance": "PT1H"}), 403)
    with server.client("admin") as c:
        problem(c.post("/api/admin/clock", json={"advance": "soon"}), 422)


def test_unpaid_online_order_releases_after_30_minutes(server: Server) -> None:
    with server.client("admin") as c:
        wh = first(c, "warehouse")
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "6")
    so = new_order(server, [(item["id"], "6", "9.90")], warehouse=wh, channel="online", payment_status="unpaid")
    assert fire(server, "sales", so, "submit").status_code == 200
    assert balance(server, item["id"], wh["id"])["available"] == Decimal(0)
    advance(server, "PT31M")
    assert balance(server, item["id"], wh["id"])["available"] == Decimal(6)
    assert get(server, "sales", "sales_order", so["id"])["state"] == "cancelled"


def test_pending_approval_escalates_after_48_hours(server: Server) -> None:
    with server.client("admin") as c:
        wh = first(c, "warehouse")
    item = new_item(server)
    add_stock(server, item["id"], wh["id"], "3")
    so = new_order(server, [(item["id"], "1", "9.90")], warehouse=wh)
    assert fire(server, "sales", so, "submit").status_code == 200
    advance(server, "PT49H")
    with server.client("vp") as c:  # the approver (manager)'s manager in the demo
        inbox = c.get(f"/api/apps/{APP}/inbox").json()
    assert set(inbox) >= {"data", "next_cursor"}
    entries = [e for e in inbox["data"] if e["entity"] == "sales_order" and str(e["record"]) == str(so["id"])]
    assert entries, inbox
    assert {"id", "kind", "title", "entity", "record", "at", "read"} <= set(entries[0])
    with server.client("admin") as c:
        audit = c.get(f"/api/apps/{APP}/audit", params={"entity": "sales_order", "record": so["id"]}).json()
    assert any("escalat" in (a["action"] + json.dumps(a["summary"], ensure_ascii=False)).lower() or "升级" in a["summary"]["zh"]
               for a in audit["data"]), audit


def test_cost_price_masked_for_sales_exact_for_finance(server: Server) -> None:
    item = new_item(server, cost="12345.67")
    assert get(server, "finance", "item", item["id"])["cost_price"] == "12345.67"
    masked = get(server, "sales", "item", item["id"])["cost_price"]
    assert masked != "12345.67" and Decimal(str(masked)) == Decimal("12000")
    assert "cost_price" not in get(server, "warehouse", "item", item["id"])
    with server.client("sales") as c:
        doc = c.get(f"/api/apps/{APP}/openapi.json").json()
    props = json.dumps(doc)
    assert '"x-jimu-masked": true' in props
    with server.client("warehouse") as c:
        wdoc = json.dumps(c.get(f"/api/apps/{APP}/openapi.json").json())
    assert "cost_price" not in wdoc


def test_health_report_layout(server: Server) -> None:
    with server.client("admin") as c:
        report = c.get(f"/api/apps/{APP}/health").json()
        assert {"app", "score", "categories", "findings"} <= set(report)
        assert report["app"] == APP and 0 <= report["score"] <= 100
        assert all(0 <= v <= 100 for v in report["categories"].values())
        for f in report["findings"]:
            assert {"id", "rule", "category", "severity", "element", "message", "remediation", "state"} <= set(f)
        sarif = c.get(f"/api/apps/{APP}/health", params={"format": "sarif"}).json()
        assert sarif["version"] == "2.1.0"
        if report["findings"]:
            fid = report["findings"][0]["id"]
            r = c.patch(f"/api/apps/{APP}/health/findings/{fid}", json={"state": "wont_fix", "reason": "contract"})
            assert r.status_code == 200, r.text
            again = c.get(f"/api/apps/{APP}/health").json()
            assert next(f for f in again["findings"] if f["id"] == fid)["state"] == "wont_fix"


def test_audit_entries(server: Server) -> None:
    item = new_item(server)
    with server.client("admin") as c:
        r = c.patch(f"/api/apps/{APP}/data/item/{item['id']}", json={"name": "审计测试"},
                    headers={"If-Match": f'"{item["version"]}"'})
        assert r.status_code == 200
        audit = c.get(f"/api/apps/{APP}/audit", params={"entity": "item", "record": item["id"]}).json()
    assert set(audit) >= {"data", "next_cursor"}
    entry = audit["data"][0]
    assert {"id", "at", "user", "action", "entity", "record", "changes", "summary"} <= set(entry)
    assert entry["user"] == "admin" and entry["action"] == "update"
    assert {"field": "name", "old": "合同测试商品", "new": "审计测试"} in entry["changes"]
    assert set(entry["summary"]) == {"zh", "en"} and "审计测试" in entry["summary"]["zh"]


def test_sse_with_access_token(server: Server) -> None:
    item = new_item(server)
    token = server.token("sales")
    received: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{server.base}/api/apps/{APP}/events", params={"access_token": token},
                              timeout=15) as r:
                assert r.status_code == 200
                ready.set()
                for line in r.iter_lines():
                    received.append(line)
                    if line.startswith("data:") and str(item["id"]) in line and "item" in line:
                        return
        except httpx.HTTPError:
            ready.set()

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(10)
    with server.client("admin") as c:
        c.patch(f"/api/apps/{APP}/data/item/{item['id']}", json={"cost_price": "23456.00"},
                headers={"If-Match": f'"{item["version"]}"'})
    t.join(15)
    events = [json.loads(line[5:]) for line in received if line.startswith("data:")]
    mine = [e for e in events if e.get("entity") == "item" and str(e.get("id")) == str(item["id"])]
    assert mine, received
    assert {"entity", "id", "version", "changes"} <= set(mine[0])
    assert any(line.startswith("event: record.updated") for line in received)
    # the sales user sees the mask's value, never the exact cost
    assert "23456.00" not in json.dumps(mine)
