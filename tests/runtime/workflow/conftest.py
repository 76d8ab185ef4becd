"""A sales app shaped like the standard template: sales_order with lines, approvals
(manager; vp above 5000), ship with a confirm code, a stock ledger, timers."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from jimu.platform.actor import Actor
from jimu.runtime.context import Jimu
from jimu.runtime.workflow import WorkflowEngine

ROLES = ["admin", "sales", "warehouse", "purchasing", "finance", "manager", "vp"]

ENTITIES: list[dict[str, Any]] = [
    {"name": "item", "fields": [{"name": "sku", "type": "text", "required": True}, {"name": "name", "type": "text"}]},
    {"name": "warehouse", "fields": [{"name": "name", "type": "text"}, {"name": "confirm_code", "type": "text"}]},
    {"name": "customer", "fields": [{"name": "name", "type": "text"}, {"name": "frozen", "type": "boolean"}]},
    {"name": "sales_order_line", "fields": [
        {"name": "item", "type": "link", "options": {"entity": "item"}},
        {"name": "qty", "type": "decimal", "options": {"precision": 18, "scale": 4}},
        {"name": "price", "type": "money"}]},
    {"name": "sales_order", "label": {"zh": "销售单", "en": "Sales order"}, "title_field": "number", "fields": [
        {"name": "number", "type": "text"},
        {"name": "customer", "type": "link", "options": {"entity": "customer"}},
        {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}},
        {"name": "amount", "type": "money"},
        {"name": "channel", "type": "text"},
        {"name": "payment_status", "type": "text"},
        {"name": "logistics_no", "type": "text"},
        {"name": "approved_at", "type": "datetime"},
        {"name": "owner", "type": "user"},
        {"name": "state", "type": "choice", "options": {"choices": [
            "draft", "pending_approval", "approved", "shipped", "completed", "rejected", "cancelled"]}},
        {"name": "lines", "type": "child_table", "options": {"entity": "sales_order_line"}}]},
    {"name": "purchase_order_line", "fields": [
        {"name": "item", "type": "link", "options": {"entity": "item"}},
        {"name": "qty", "type": "decimal"}, {"name": "price", "type": "money"}]},
    {"name": "purchase_order", "fields": [
        {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}},
        {"name": "state", "type": "choice", "options": {"choices": ["draft", "submitted", "approved", "received"]}},
        {"name": "lines", "type": "child_table", "options": {"entity": "purchase_order_line"}}]},
    {"name": "stock_adjustment", "fields": [
        {"name": "item", "type": "link", "options": {"entity": "item"}},
        {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"}},
        {"name": "qty", "type": "decimal"}, {"name": "reason", "type": "text"}]},
]

SO_WORKFLOW: dict[str, Any] = {
    "name": "sales_order", "entity": "sales_order", "state_field": "state",
    "states": [{"name": "draft", "initial": True}, {"name": "pending_approval"}, {"name": "approved"},
               {"name": "shipped"}, {"name": "completed", "final": True}, {"name": "rejected", "final": True},
               {"name": "cancelled", "final": True}],
    "transitions": [
        {"name": "submit", "from": ["draft"], "to": "pending_approval", "roles": ["sales"],
         "guard": "amount > 0", "guard_message": {"zh": "金额必须大于 0", "en": "amount must be positive"},
         "approval": {"steps": [
             {"name": "manager", "label": {"zh": "经理审批", "en": "Manager"},
              "approvers": [{"kind": "role", "value": "manager"}]},
             {"name": "vp", "label": {"zh": "副总审批", "en": "VP"}, "condition": "amount > 5000",
              "approvers": [{"kind": "role", "value": "vp"}], "fallback_role": "admin"}]}},
        {"name": "approve", "from": ["pending_approval"], "to": "approved", "roles": ["manager", "vp"],
         "set": {"approved_at": "$now"}},
        {"name": "reject", "from": ["pending_approval"], "to": "rejected", "roles": ["manager", "vp"]},
        {"name": "ship", "from": ["approved"], "to": "shipped", "roles": ["warehouse"],
         "inputs": [{"name": "warehouse_confirm_code", "type": "text", "required": True},
                    {"name": "logistics_no", "type": "text", "required": True}],
         "guard": "warehouse_confirm_code == warehouse.confirm_code",
         "guard_message": {"zh": "仓库确认码不正确", "en": "wrong warehouse confirm code"}},
        {"name": "complete", "from": ["shipped"], "to": "completed", "roles": ["sales", "manager"]},
        {"name": "cancel", "from": ["draft", "pending_approval", "approved"], "to": "cancelled",
         "roles": ["sales", "manager", "admin"]},
    ],
    "timers": [
        {"name": "escalate_48h", "state": "pending_approval", "after": "PT48H", "action": {"kind": "escalate"}},
        {"name": "unpaid_30m", "state": "pending_approval", "after": "PT30M",
         "condition": "channel == 'online' and payment_status == 'unpaid'",
         "action": {"kind": "transition", "transition": "cancel"}},
    ],
}

PO_WORKFLOW: dict[str, Any] = {
    "name": "purchase_order", "entity": "purchase_order",
    "states": [{"name": "draft", "initial": True}, {"name": "submitted"}, {"name": "approved"},
               {"name": "received", "final": True}],
    "transitions": [
        {"name": "submit", "from": ["draft"], "to": "submitted", "roles": ["purchasing"]},
        {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["manager"]},
        {"name": "receive", "from": ["approved"], "to": "received", "roles": ["warehouse"]}],
}

STOCK: dict[str, Any] = {
    "name": "stock", "dimensions": [{"name": "item", "entity": "item"}, {"name": "warehouse", "entity": "warehouse"}],
    "postings": [
        {"name": "so_reserve", "entity": "sales_order", "on": "transition", "transition": "submit", "kind": "reserve",
         "lines": "lines", "quantity": "qty", "dimensions": {"item": "item", "warehouse": "warehouse"},
         "ttl": "PT30M", "ttl_if": "channel == 'online' and payment_status == 'unpaid'"},
        {"name": "so_ship", "entity": "sales_order", "transition": "ship", "kind": "ship", "lines": "lines",
         "quantity": "qty", "dimensions": {"item": "item", "warehouse": "warehouse"}},
        {"name": "so_release", "entity": "sales_order", "transition": "cancel", "kind": "release"},
        {"name": "po_receive", "entity": "purchase_order", "transition": "receive", "kind": "receipt",
         "lines": "lines", "quantity": "qty", "unit_cost": "price",
         "dimensions": {"item": "item", "warehouse": "warehouse"}},
        {"name": "adjust", "entity": "stock_adjustment", "on": "create", "kind": "adjust", "quantity": "qty",
         "reason": "reason", "dimensions": {"item": "item", "warehouse": "warehouse"}},
    ]}


def role_spec(name: str) -> dict[str, Any]:
    rights = {"create": True, "read": True, "update": True, "delete": name == "admin", "export": True}
    return {"name": name, "entities": {e["name"]: dict(rights) for e in ENTITIES}}


def build_sales_app(jimu: Jimu, app: str = "std", workflow: dict[str, Any] | None = None,
                    ledger: dict[str, Any] | None = None) -> None:
    jimu.store.create_app(app, {"zh": "标准版", "en": "Standard"})
    parents_first = sorted(ENTITIES, key=lambda e: e["name"].endswith("_line"))  # FK creation order
    jimu.store.save_draft(app, {
        "name": app, "label": {"zh": "标准版", "en": "Standard"}, "entities": parents_first,
        "roles": [role_spec(r) for r in ROLES], "workflows": [workflow or SO_WORKFLOW, PO_WORKFLOW],
        "ledgers": [ledger or STOCK]})
    jimu.store.publish(app)


def make_users(jimu: Jimu) -> None:
    jimu.users.create("vp", "vp", ["vp"])
    jimu.users.create("manager", "manager", ["manager"], manager="vp")
    jimu.users.create("sales", "sales", ["sales"], manager="manager")
    for name in ("admin", "warehouse", "purchasing", "finance"):
        jimu.users.create(name, name, [name])


class World:
    """The app plus helpers for tests."""

    def __init__(self, jimu: Jimu, app: str = "std") -> None:
        self.jimu = jimu
        self.engine = WorkflowEngine(jimu)
        self.app = app
        rec = jimu.records.create
        self.item = rec(self.app, "item", {"sku": "A-1", "name": "Bolt"})["id"]
        self.wh = rec(self.app, "warehouse", {"name": "Main", "confirm_code": "8888"})["id"]
        self.customer = rec(self.app, "customer", {"name": "Acme", "frozen": False})["id"]

    def actor(self, name: str) -> Actor:
        user = self.jimu.users.by_name(name)
        assert user is not None
        return user.actor()

    def stock(self, qty: Any = "100") -> None:
        self.jimu.records.create(self.app, "stock_adjustment", {"item": self.item, "warehouse": self.wh, "qty": qty,
                                                                "reason": "opening"}, actor=self.actor("warehouse"))

    def order(self, amount: Any = "1000", qty: Any = "5", **extra: Any) -> dict[str, Any]:
        data = {"number": f"SO-{amount}", "customer": self.customer, "warehouse": self.wh, "amount": amount,
                "lines": [{"item": self.item, "qty": qty, "price": "10"}], **extra}
        return dict(self.jimu.records.create(self.app, "sales_order", data, actor=self.actor("sales")))

    def fire(self, rid: int, t: str, user: str, inputs: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self.engine.fire(self.app, "sales_order", rid, t, inputs or {}, self.actor(user), **kw)

    def balance(self) -> dict[str, Decimal]:
        from jimu.platform.ledger import balances

        rt = self.jimu.apps.get(self.app)
        with self.jimu.db.read() as c:
            rows = balances(c, self.app, rt.spec.ledger("stock"), item=self.item, warehouse=self.wh)
        return rows[0] if rows else {}


def _app_and_users(jimu: Jimu) -> None:
    build_sales_app(jimu)
    make_users(jimu)


@pytest.fixture
def jimu(db_url: str, request: pytest.FixtureRequest) -> Iterator[Jimu]:
    """A Jimu on the test's database: bootstrapped, and (when the test uses ``world``) with
    the sales app published and the users made, built once per worker and copied (tests.dbcache)."""
    from tests.dbcache import open_for

    yield from open_for(request, db_url, {"world": (world, _app_and_users)})


@pytest.fixture
def world(jimu: Jimu, manual_clock: Any) -> World:
    """The sales app and users (on ``jimu`` already) plus the master records."""
    return World(jimu)
