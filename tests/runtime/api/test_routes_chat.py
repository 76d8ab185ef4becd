"""Chat-order routes on the standard template (issue 22): parse and create through the
caller's rights, the draft order's figures, problem+json refusals, and the catalogue
index following item changes.

Scenario figures, by hand: "李姐：要2盒蓝莓+1袋山药，水饺2袋" names customer C01 (李姐 is
its nickname), 蓝莓 F001 × 2 盒 at 25.80 and 山药 F002 × 1 袋 at 12.00; 水饺 is either of two
brands, so it is flagged and stays off the order: amount = 2 × 25.80 + 12.00 = 63.60.
Mutations tried: creating the order from every line with an item guess (the best
alternative of a flagged line included) fails ``test_create_draft_order`` (水饺 lands on the
order as a third line at 26.00);
keying the index cache on the published version only fails ``test_index_follows_item_changes``."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.runtime.intel.chat_orders import clear_cache
from jimu.templates_market.installer import install_template
from tests.bearer import BearerClient
from tests.runtime.intel.corpus_eval import load_catalogue

APP = "standard"
USERS = ("admin", "sales", "warehouse")
PARSE, CREATE = f"/api/apps/{APP}/chat-orders/parse", f"/api/apps/{APP}/chat-orders"
MESSAGE = "李姐：要2盒蓝莓+1袋山药，水饺2袋"


class Client(BearerClient):
    def __init__(self, client: TestClient, ids: dict[str, int]) -> None:
        super().__init__(client)
        self.ids = ids

    def post(self, user: str | None, url: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=body, headers=self.h(user) if user else {})


def problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body)
    if code:
        assert body["code"] == code, body
    return dict(body)


@pytest.fixture
def api(db_url: str) -> Iterator[Client]:
    clear_cache()
    jimu = Jimu.open(db_url)
    install_template(jimu, APP, "standard", sample_data=False)
    for user in USERS:
        jimu.users.create(user, user, [user])
    items, customers = load_catalogue()
    ids: dict[str, int] = {}
    for it in items:
        row = {k: it[k] for k in ("sku", "name", "unit", "sale_price", "aliases") if it.get(k)}
        ids[it["sku"]] = jimu.records.create(APP, "item", row)["id"]
    for c in customers:
        row = {k: c[k] for k in ("code", "name", "nickname", "aliases") if c.get(k)}
        ids[c["code"]] = jimu.records.create(APP, "customer", row)["id"]
    ids["wh"] = jimu.records.create(APP, "warehouse", {"name": "主仓", "code": "WH1", "confirm_code": "1"})["id"]
    # a role that sees every item but the blueberries, and no customers
    jimu.store.put_element(APP, "role", "picker", {"name": "picker", "entities": {
        "item": {"read": True, "row_filter": 'sku != "F001"'}}})
    jimu.store.publish(APP, author="admin")
    jimu.users.create("picker", "picker", ["picker"])
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Client(client, ids)
    jimu.close()


def test_parse(api: Client) -> None:
    r = api.post("sales", PARSE, {"text": MESSAGE})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer"] == api.ids["C01"] and body["customer_name"] == "鲜邻优选便利店"
    got = [(ln["item"], ln["qty"], ln["unit"], ln["flagged"]) for ln in body["lines"]]
    assert got == [(api.ids["F001"], "2", "盒", False), (api.ids["F002"], "1", "袋", False), (None, "2", "袋", True)]
    assert all(ln["confidence"] >= 0.8 for ln in body["lines"][:2]) and body["lines"][2]["confidence"] < 0.8
    assert {a["item"] for a in body["lines"][2]["alternatives"]} >= {api.ids["G041"], api.ids["G042"]}
    assert body["lines"][0]["item_name"] == "佳沛蓝莓125g盒装"
    # the warehouse role reads items: it may parse
    assert api.post("warehouse", PARSE, {"text": "蓝莓2盒"}).json()["lines"][0]["item"] == api.ids["F001"]


def test_create_draft_order(api: Client) -> None:
    r = api.post("sales", CREATE, {"text": MESSAGE})
    assert r.status_code == 201, r.text
    out = r.json()
    order = out["order"]
    assert r.headers["location"] == f"/api/apps/{APP}/data/sales_order/{order['id']}"
    assert (order["state"], order["customer"], order["warehouse"], order["channel"]) == (
        "draft", api.ids["C01"], api.ids["wh"], "wechat")
    stored = api.get("sales", f"/api/apps/{APP}/data/sales_order/{order['id']}").json()
    lines = [(ln["item"], Decimal(ln["qty"]), Decimal(ln["price"])) for ln in stored["lines"]]
    assert lines == [(api.ids["F001"], Decimal(2), Decimal("25.80")), (api.ids["F002"], Decimal(1), Decimal("12.00"))]
    assert Decimal(stored["amount"]) == Decimal("63.60")
    assert [f["text"] for f in out["flagged"]] == ["水饺"]
    assert "水饺" in stored["note"] and MESSAGE in stored["note"]


def test_create_refusals(api: Client) -> None:
    problem(api.post("warehouse", CREATE, {"text": MESSAGE}), 403)
    problem(api.post(None, CREATE, {"text": MESSAGE}), 401)
    problem(api.post("sales", CREATE, {"text": "水饺2袋 榴莲1个", "customer": api.ids["C01"]}), 422,
            "chat_order.no_lines")
    problem(api.post("sales", CREATE, {"text": "蓝莓2盒"}), 422, "chat_order.customer_required")
    ok = api.post("sales", CREATE, {"text": "蓝莓2盒", "customer": api.ids["C02"]})
    assert ok.status_code == 201 and ok.json()["order"]["customer"] == api.ids["C02"]
    problem(api.post("sales", CREATE, {"text": "蓝莓2盒", "customer": 999999}), 404)
    problem(api.post("sales", CREATE, {"text": "蓝莓2盒", "customer": "x"}), 422, "chat_order.customer")
    problem(api.post("sales", CREATE, {"text": "蓝莓2盒", "customer": api.ids["C02"], "warehouse": 999999}), 404)


def test_parse_refusals(api: Client) -> None:
    problem(api.post("sales", PARSE, {}), 422, "chat_order.text")
    problem(api.post("sales", PARSE, {"text": "  "}), 422, "chat_order.text")
    problem(api.post("sales", PARSE, {"text": "x" * 4001}), 422, "chat_order.text")
    problem(api.post("sales", PARSE, {"text": "蓝莓", "extra": 1}), 422, "field.unknown")
    problem(api.post("sales", PARSE, {"text": 5}), 422, "chat_order.text")
    problem(api.post("sales", "/api/apps/nope/chat-orders/parse", {"text": "蓝莓"}), 404)


def test_index_follows_item_changes(api: Client) -> None:
    assert api.post("sales", PARSE, {"text": "芒果3斤"}).json()["lines"][0]["item"] is None
    r = api.post("admin", f"/api/apps/{APP}/data/item", {"sku": "F099", "name": "台芒", "unit": "斤", "aliases": "芒果|mango"})
    assert r.status_code == 201, r.text
    line = api.post("sales", PARSE, {"text": "芒果3斤"}).json()["lines"][0]
    assert (line["item"], line["qty"]) == (r.json()["id"], "3")
    assert api.post("sales", PARSE, {"text": "mango x2"}).json()["lines"][0]["item"] == r.json()["id"]


def test_openapi_per_caller(api: Client) -> None:
    sales = api.get("sales", f"/api/apps/{APP}/openapi.json").json()["paths"]
    assert {"post"} <= set(sales[PARSE]) and {"post"} <= set(sales[CREATE])
    assert sales[CREATE]["post"]["operationId"] == "create_chat_order"
    warehouse = api.get("warehouse", f"/api/apps/{APP}/openapi.json").json()["paths"]
    assert PARSE in warehouse and CREATE not in warehouse  # may read items, may not create orders


def test_row_filter_and_customer_rights_apply(api: Client) -> None:
    """Mutation tried: parsing without ``allowed_items`` lets the picker's parse name
    F001 (a hidden item) as the line's item and among the alternatives."""
    body = api.post("picker", PARSE, {"text": "李姐：蓝莓2盒，山药1袋"}).json()
    blue, yam = body["lines"]
    assert blue["item"] is None and api.ids["F001"] not in {a["item"] for a in blue["alternatives"]}
    assert yam["item"] == api.ids["F002"]
    assert body["customer"] is None  # the picker may not read customers: 李姐 names no one
    problem(api.post("picker", PARSE, {"text": "蓝莓", "customer": api.ids["C01"]}), 404)
    problem(api.post("picker", CREATE, {"text": "山药1袋"}), 404)
