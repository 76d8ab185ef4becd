"""The ``chat_order`` automation action behind an incoming webhook (issue 22): a WeChat
relay posts ``{sender, text}``; the draft sales order is created as the hook's role, the
sender's nickname naming the customer; a message with no confident line is an ``error``
run and creates nothing.

Mutation tried: ignoring ``sender`` (the text alone) leaves the order without a customer:
the first test fails (the run is an error, no order)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from jimu.core.errors import ValidationError
from jimu.runtime.api.app import create_app
from jimu.runtime.automations import MAX_DEPTH, automation_findings
from jimu.runtime.context import Jimu
from jimu.runtime.events.dispatcher import run_once
from jimu.runtime.events.tables import automation_runs
from jimu.runtime.intel.chat_orders import clear_cache
from jimu.templates_market.installer import install_template

APP = "standard"
AUTO = {"name": "wechat_orders", "trigger": {"type": "webhook_in", "hook": "wechat"},
        "actions": [{"type": "chat_order", "text": "msg", "sender": "from"}]}


@pytest.fixture
def env(db_url: str) -> Iterator[tuple[Jimu, TestClient, str]]:
    clear_cache()
    jimu = Jimu.open(db_url)
    install_template(jimu, APP, "standard", sample_data=False)
    jimu.users.create("admin", "admin", ["admin"])
    jimu.records.create(APP, "item", {"sku": "F001", "name": "佳沛蓝莓125g盒装", "unit": "盒", "sale_price": "25.80",
                                      "aliases": "蓝莓|blueberry"})
    jimu.records.create(APP, "item", {"sku": "F002", "name": "铁棍山药", "unit": "袋", "sale_price": "12.00",
                                      "aliases": "山药"})
    jimu.records.create(APP, "customer", {"code": "C01", "name": "鲜邻优选便利店", "nickname": "李姐"})
    jimu.records.create(APP, "warehouse", {"name": "主仓", "code": "WH1", "confirm_code": "1"})
    jimu.store.put_element(APP, "automation", AUTO["name"], AUTO)
    jimu.store.publish(APP, author="admin")
    assert not [f for f in automation_findings(jimu.apps.get(APP).spec) if f.severity == "error"]
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        token = client.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
        r = client.post(f"/api/apps/{APP}/webhooks", headers={"Authorization": f"Bearer {token}"},
                        json={"name": "wechat", "direction": "in", "mode": "trigger", "role": "sales"})
        assert r.status_code == 201, r.text
        yield jimu, client, r.json()["hook_url"]
    jimu.close()


def _drain(jimu: Jimu) -> None:
    for _ in range(MAX_DEPTH + 3):
        if run_once(jimu)["dispatched"] == 0:
            return


def _runs(jimu: Jimu) -> list[Any]:
    with jimu.db.read() as c:
        return list(c.execute(sa.select(automation_runs.c.status, automation_runs.c.detail)).all())


def test_webhook_message_becomes_a_draft_order(env: tuple[Jimu, TestClient, str]) -> None:
    jimu, client, url = env
    r = client.post(url, json={"from": "李姐", "msg": "要2盒蓝莓+1袋山药，谢谢"})
    assert r.status_code == 202, r.text
    _drain(jimu)
    assert [s for s, _ in _runs(jimu)] == ["ok"], _runs(jimu)
    orders = jimu.records.list(APP, "sales_order").data
    assert len(orders) == 1
    order = jimu.records.get(APP, "sales_order", orders[0]["id"])
    assert (order["state"], order["channel"], order["created_by"]) == ("draft", "wechat", "webhook:wechat")
    assert [(ln["qty"], ln["price"]) for ln in order["lines"]] == [(Decimal(2), Decimal("25.80")),
                                                                    (Decimal(1), Decimal("12.00"))]
    assert order["amount"] == Decimal("63.60")


def test_unclear_message_is_an_error_run_and_creates_nothing(env: tuple[Jimu, TestClient, str]) -> None:
    jimu, client, url = env
    assert client.post(url, json={"from": "李姐", "msg": "水果来点，榴莲2个"}).status_code == 202
    _drain(jimu)
    (status, detail), = _runs(jimu)
    assert status == "error" and "no line" in detail
    assert jimu.records.list(APP, "sales_order").data == []


def test_chat_order_needs_items_and_orders(jimu: Jimu) -> None:
    """Mutation tried: without the AUT-E006 check an app with no sales orders publishes a
    chat_order automation that can only fail at run time."""
    jimu.store.create_app("bare", {"zh": "空", "en": "Bare"})
    with pytest.raises(ValidationError, match="chat_order needs the item and sales_order"):
        jimu.store.save_draft("bare", {"name": "bare", "entities": [
            {"name": "item", "fields": [{"name": "name", "type": "text"}]}], "automations": [AUTO]}, author="admin")
