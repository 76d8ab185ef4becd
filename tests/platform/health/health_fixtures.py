"""Fixtures of the health-rule tests: a clean base app and, per rule id, a positive
context (the rule fires) and a negative one (a similar, correct app where it does not).

The completeness test requires an entry here for every registered rule id.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from jimu.platform.health import CbuManifestInfo, CbuUsage, ScanContext
from jimu.platform.specs import AppSpec

Spec = dict[str, Any]


def _f(name: str, type_: str = "text", label: Any = "", **kw: Any) -> Spec:
    return {"name": name, "type": type_, "label": label or name, **kw}


def base_spec() -> Spec:
    """A small, correct sales app: no rule fires on it."""
    return {
        "name": "shop",
        "label": {"zh": "商店", "en": "Shop"},
        "settings": {"industry": "general"},
        "entities": [
            {"name": "item", "label": {"zh": "商品", "en": "Item"}, "fields": [
                _f("sku", label="SKU", unique=True), _f("name", label="名称", indexed=True),
                _f("unit", label="单位"),
                _f("cost_price", "money", {"zh": "成本价", "en": "Cost price"}),
                _f("sale_price", "money", "售价")]},
            {"name": "warehouse", "label": "仓库", "fields": [
                _f("name", label="名称", unique=True), _f("confirm_code", label="确认码")]},
            {"name": "customer", "label": "客户", "fields": [
                _f("name", label="名称", unique=True), _f("region", label="区域"), _f("phone", "phone", "电话")]},
            {"name": "sales_order", "label": "销售订单", "fields": [
                _f("number", "auto_number", "单号", options={"pattern": "SO-{YYYY}-{####}"}),
                _f("customer", "link", "客户", options={"entity": "customer", "on_delete": "restrict"}),
                _f("warehouse", "link", "仓库", options={"entity": "warehouse", "on_delete": "restrict"}),
                _f("amount", "money", "金额"),
                _f("state", "choice", "状态", indexed=True, options={"choices": [
                    "draft", "submitted", "approved", "completed", "cancelled"]}),
                _f("lines", "child_table", "明细", options={"entity": "sales_order_line"})]},
            {"name": "sales_order_line", "label": "销售订单明细", "fields": [
                _f("item", "link", "商品", options={"entity": "item", "on_delete": "restrict"}),
                _f("qty", "decimal", "数量"), _f("price", "money", "单价"),
                _f("amount", "formula", "金额", options={"expression": "qty * price", "result_type": "money"})]},
        ],
        "workflows": [{
            "name": "sales_order", "entity": "sales_order",
            "states": [{"name": "draft", "initial": True}, {"name": "submitted"}, {"name": "approved"},
                       {"name": "completed", "final": True}, {"name": "cancelled", "final": True}],
            "transitions": [
                {"name": "submit", "from": ["draft"], "to": "submitted", "roles": ["sales"]},
                {"name": "approve", "from": ["submitted"], "to": "approved", "roles": ["manager"],
                 "approval": {"steps": [{"name": "manager_ok", "approvers": [{"kind": "role", "value": "manager"}]}]}},
                {"name": "complete", "from": ["approved"], "to": "completed", "roles": ["sales"]},
                {"name": "cancel", "from": ["draft", "submitted", "approved"], "to": "cancelled",
                 "roles": ["sales", "manager"]},
            ],
            "timers": [{"name": "pending_48h", "state": "submitted", "after": "PT48H",
                        "action": {"kind": "escalate"}}],
        }],
        "roles": [
            {"name": "admin", "all_entities": {"create": True, "read": True, "update": True, "delete": True,
                                               "export": True, "transitions": ["*"]}},
            {"name": "sales", "entities": {
                "item": {"read": True, "fields": {"cost_price": "hidden"}},
                "customer": {"create": True, "read": True, "update": True},
                "warehouse": {"read": True},
                "sales_order": {"create": True, "read": True, "update": True,
                                "transitions": ["submit", "complete", "cancel"],
                                "row_filter": "state != 'cancelled'", "fields": {"state": "read"}},
                "sales_order_line": {"create": True, "read": True, "update": True}}},
            {"name": "manager", "entities": {
                "item": {"read": True}, "sales_order": {"read": True, "transitions": ["approve", "cancel"]}}},
        ],
        "views": [{"name": "open_orders", "entity": "sales_order", "columns": ["number", "customer", "amount"],
                   "filter": "state == 'submitted'", "sort": ["-created_at"]}],
        "ledgers": [{"name": "stock", "dimensions": [{"name": "item", "entity": "item"},
                                                     {"name": "warehouse", "entity": "warehouse"}]}],
        "automations": [{"name": "big_order_hook", "entity": "sales_order",
                         "trigger": {"kind": "record", "event": "created"}, "condition": "amount > 5000",
                         "actions": [{"kind": "webhook", "url": "https://example.test/hook",
                                      "retry": {"attempts": 5}, "secret": "s3cret"}]}],
    }


def ctx_of(spec: Spec, **kw: Any) -> ScanContext:
    return ScanContext(app=AppSpec.model_validate(spec), **kw)


def _entity(spec: Spec, name: str) -> Spec:
    return next(e for e in spec["entities"] if e["name"] == name)


def _role(spec: Spec, name: str) -> Spec:
    return next(r for r in spec["roles"] if r["name"] == name)


def _wf(spec: Spec) -> Spec:
    return spec["workflows"][0]  # type: ignore[no-any-return]


Variant = Callable[[], ScanContext]


def variant(change: Callable[[Spec], Any], **ctx_kw: Any) -> Variant:
    """A factory: the base spec modified in place by ``change``, as a scan context."""
    def make() -> ScanContext:
        spec = copy.deepcopy(base_spec())
        change(spec)
        return ctx_of(spec, **ctx_kw)
    return make


# --- DF helpers ---------------------------------------------------------------------------
SUPPLIER_CBU = CbuManifestInfo(name="supplier_scorecard", version="1.0.0", latest_version="1.0.0",
                               domains=("supply_chain.supplier",), entities=("supplier_scorecard", "supplier"),
                               keywords=("scorecard", "评分"), title="供应商评分卡")


_SC = {"supplier_scorecard": SUPPLIER_CBU}


def scorecard(spec: Spec, fields: list[Spec]) -> None:
    spec["entities"].append({"name": "supplier", "label": "供应商", "fields": [_f("name", label="名称", unique=True)]})
    spec["entities"].append({"name": "employee", "label": {"zh": "员工", "en": "Employee"},
                             "fields": [_f("name", label="姓名", unique=True)]})
    spec["entities"].append({"name": "supplier_scorecard", "label": {"zh": "供应商评分卡", "en": "Supplier scorecard"},
                             "fields": [_f("score", "decimal", "得分"), *fields]})
    spec["owners"] = {"entity:supplier_scorecard": "supplier_scorecard@1.0.0"}


def _link(name: str, target: str, label: str) -> Spec:
    return _f(name, "link", label, options={"entity": target, "on_delete": "restrict"})


def _add_field(entity: str, *fields: Spec) -> Callable[[Spec], None]:
    return lambda s: _entity(s, entity)["fields"].extend(fields)


def _line_formula(name: str, expr: str, result: str = "money", **opts: Any) -> Callable[[Spec], None]:
    return _add_field("sales_order_line", _f(name, "formula", name,
                                             options={"expression": expr, "result_type": result, **opts}))


def _set(path: Callable[[Spec], Spec], key: str, value: Any) -> Callable[[Spec], None]:
    return lambda s: path(s).__setitem__(key, value)


def _timer_action(action: Spec) -> Callable[[Spec], None]:
    return lambda s: _wf(s)["timers"][0].__setitem__("action", action)


def _add_role(role: Spec) -> Callable[[Spec], None]:
    return lambda s: s["roles"].append(role)


def _owned(spec: Spec) -> None:
    spec["owners"] = {"entity:item": "item_master@1.0.0"}


def _usage(**kw: int) -> dict[str, CbuUsage]:
    return {"item_master": CbuUsage(**kw)}


def _wide(n: int) -> Callable[[Spec], None]:
    return lambda s: s["entities"].append({"name": "wide", "fields": [_f(f"f{i}", "integer") for i in range(n)]})


def _both(*changes: Callable[[Spec], Any]) -> Callable[[Spec], None]:
    def run(spec: Spec) -> None:
        for change in changes:
            change(spec)
    return run


def _hook(action: Spec) -> Callable[[Spec], None]:
    return lambda s: s["automations"][0].__setitem__("actions", [action])


def _loop(fields: list[str] | None) -> Callable[[Spec], None]:
    trig: Spec = {"kind": "record", "event": "updated", **({"fields": fields} if fields else {})}
    return lambda s: s["automations"].append({"name": "recalc", "entity": "sales_order", "trigger": trig,
                                              "actions": [{"kind": "update", "set": {"amount": "amount + 0"}}]})


def _view(**kw: Any) -> Callable[[Spec], None]:
    return lambda s: s["views"].append({"name": "customers", "entity": "customer", "columns": ["name"], **kw})


_region_indexed = _both(lambda s: _entity(s, "customer")["fields"][1].__setitem__("indexed", True))

FIXTURES: dict[str, tuple[Variant, Variant]] = {
    "DF-01": (variant(lambda s: scorecard(s, [_link("employee", "employee", "员工")]), cbus=_SC),
              variant(lambda s: scorecard(s, [_link("supplier", "supplier", "供应商")]), cbus=_SC)),
    "DF-02": (variant(lambda s: scorecard(s, [_f("perf", "decimal", "绩效得分"), _f("period", label="考核周期")]), cbus=_SC),
              variant(lambda s: scorecard(s, [_f("on_time_rate", "percent", "交货准时率"), _f("quality", "decimal", "质量评分")]),
                      cbus=_SC)),
    "DF-03": (variant(_both(lambda s: scorecard(s, []), _add_role({"name": "hr", "domains": ["hr.employee"],
                                                                   "entities": {"supplier_scorecard": {"read": True, "update": True}}})), cbus=_SC),
              variant(_both(lambda s: scorecard(s, []), _add_role({"name": "purchasing", "domains": ["supply_chain.purchase"],
                                                                   "entities": {"supplier_scorecard": {"read": True, "update": True}}})), cbus=_SC)),
    "DF-04": (variant(lambda s: s.__setitem__("settings", {"industry": "food", "fefo": False})),
              variant(lambda s: s.__setitem__("settings", {"industry": "food", "fefo": True}))),
    "DF-05": (variant(lambda s: s["ledgers"][0].update(allow_negative=True, dimensions=s["ledgers"][0]["dimensions"] + [{"name": "batch"}])),
              variant(lambda s: s["ledgers"][0].update(allow_negative=False, dimensions=s["ledgers"][0]["dimensions"] + [{"name": "batch"}]))),
    "DF-06": (variant(lambda s: s.__setitem__("settings", {"industry": "food", "fefo": True})),
              variant(_both(lambda s: s.__setitem__("settings", {"industry": "food", "fefo": True}),
                            lambda s: s["ledgers"][0]["dimensions"].append({"name": "batch"})))),
    "DM-01": (variant(_line_formula("amount2", "qty*price")), variant(_line_formula("amount2", "qty * price * 2"))),
    "DM-02": (variant(_add_field("item", _f("unit_price", "money", "单价"))), variant(_add_field("item", _f("weight", "decimal", "重量")))),
    "DM-03": (variant(lambda s: None, stats={"rows": {"item": 100}, "field_writes": {"item.unit": 0}}),
              variant(lambda s: None, stats={"rows": {"item": 100}, "field_writes": {"item.unit": 60}})),
    "DM-04": (variant(lambda s: _role(s, "sales")["entities"]["customer"].__setitem__("row_filter", "region == 'east'")),
              variant(_both(_region_indexed, lambda s: _role(s, "sales")["entities"]["customer"].__setitem__("row_filter", "region == 'east'")))),
    "DM-05": (variant(lambda s: _entity(s, "sales_order")["fields"][1]["options"].pop("on_delete")), variant(lambda s: None)),
    "DM-06": (variant(_add_field("item", _f("list_price", "integer", "标价"))), variant(_add_field("item", _f("list_price", "money", "标价")))),
    "FX-01": (variant(_line_formula("bad", "qty * * price")), variant(_line_formula("good", "qty * price + 1"))),
    "FX-02": (variant(_both(_line_formula("a", "b + 1", "decimal"), _line_formula("b", "a + 1", "decimal"))),
              variant(_both(_line_formula("a", "qty + 1", "decimal"), _line_formula("b", "a + 1", "decimal")))),
    "FX-03": (variant(_line_formula("age", "DAYS_BETWEEN(created_at, TODAY())", "integer")),
              variant(_line_formula("age", "DAYS_BETWEEN(created_at, TODAY())", "integer", stored=False))),
    "FX-04": (variant(_line_formula("net", "ROUND(qty * price, 4)")), variant(_line_formula("net", "ROUND(qty * price, 2)"))),
    "FX-05": (variant(lambda s: s["views"][0].__setitem__("filter", "state ==")), variant(lambda s: s["views"][0].__setitem__("filter", "state == 'draft'"))),
    "FX-06": (variant(_line_formula("unit_cost", "amount / qty", "decimal")),
              variant(_line_formula("unit_cost", "IF(qty == 0, 0, amount / qty)", "decimal"))),
    "WF-01": (variant(lambda s: _wf(s)["states"].append({"name": "archived", "final": True})),
              variant(_both(lambda s: _wf(s)["states"].append({"name": "archived", "final": True}),
                            lambda s: _wf(s)["transitions"].append({"name": "archive", "from": ["completed"], "to": "archived", "roles": ["manager"]})))),
    "WF-02": (variant(_both(lambda s: _wf(s)["states"].append({"name": "on_hold"}),
                            lambda s: _wf(s)["transitions"].append({"name": "hold", "from": ["approved"], "to": "on_hold", "roles": ["manager"]}))),
              variant(_both(lambda s: _wf(s)["states"].append({"name": "on_hold"}),
                            lambda s: _wf(s)["transitions"].append({"name": "hold", "from": ["approved"], "to": "on_hold", "roles": ["manager"]}),
                            lambda s: _wf(s)["transitions"].append({"name": "resume", "from": ["on_hold"], "to": "approved", "roles": ["manager"]})))),
    "WF-03": (variant(_both(lambda s: _wf(s)["transitions"].append({"name": "reopen", "from": ["cancelled"], "to": "draft"}),
                            lambda s: _role(s, "admin")["all_entities"].__setitem__("transitions", []))),
              variant(_both(lambda s: _wf(s)["transitions"].append({"name": "reopen", "from": ["cancelled"], "to": "draft"}),
                            lambda s: _role(s, "manager")["entities"]["sales_order"]["transitions"].append("reopen")))),
    "WF-04": (variant(lambda s: None, stats={"role_holders": {"manager": 0}}),
              variant(lambda s: None, stats={"role_holders": {"manager": 2}})),
    "WF-05": (variant(_timer_action({"kind": "notify"})), variant(_timer_action({"kind": "notify", "escalate_to": "manager"}))),
    "WF-06": (variant(lambda s: _role(s, "sales")["entities"]["sales_order"]["fields"].__setitem__("state", "write")), variant(lambda s: None)),
    "WF-07": (variant(lambda s: [st.__setitem__("final", False) for st in _wf(s)["states"]]), variant(lambda s: None)),
    "PS-01": (variant(lambda s: _role(s, "sales")["entities"]["item"].__setitem__("fields", {})), variant(lambda s: None)),
    "PS-02": (variant(_add_role({"name": "employee", "entities": {"customer": {"read": True}}})),
              variant(_add_role({"name": "employee", "entities": {"customer": {"read": True, "fields": {"phone": {"mask": "RIGHT(phone, 4)"}}}}}))),
    "PS-03": (variant(_add_role({"name": "guest", "entities": {"customer": {"read": True, "create": True}}})),
              variant(_add_role({"name": "guest", "entities": {"customer": {"read": True, "fields": {"phone": "hidden"}}}}))),
    "PS-04": (variant(lambda s: None, stats={"api_keys": [{"name": "erp", "roles": ["admin"]}]}),
              variant(lambda s: None, stats={"api_keys": [{"name": "erp", "roles": ["sales"]}]})),
    "PS-05": (variant(lambda s: _role(s, "sales")["entities"]["sales_order"].__setitem__("row_filter", "1 == 1")), variant(lambda s: None)),
    "PS-06": (variant(_add_role({"name": "clerk", "all_entities": {"read": True, "update": True}})),
              variant(_add_role({"name": "clerk", "entities": {"customer": {"read": True, "update": True}}}))),
    "PF-01": (variant(_view(filter="region == 'east'")), variant(_both(_region_indexed, _view(filter="region == 'east'")))),
    "PF-02": (variant(_view(sort=["region"])), variant(_view(sort=["region"]), stats={"rows": {"customer": 300}})),
    "PF-03": (variant(_line_formula("cost", "LOOKUP(item, 'cost_price')"), stats={"rows": {"item": 250_000}}),
              variant(_line_formula("cost", "LOOKUP(item, 'cost_price')"), stats={"rows": {"item": 500}})),
    "PF-04": (variant(_wide(151)), variant(_wide(150))),
    "AU-01": (variant(_loop(None)), variant(_loop(["customer"]))),
    "AU-02": (variant(_hook({"kind": "webhook", "url": "https://example.test/h", "secret": "x"})), variant(lambda s: None)),
    "AU-03": (variant(_hook({"kind": "webhook", "url": "https://example.test/h", "retry": {"attempts": 3}})), variant(lambda s: None)),
    "AU-04": (variant(_hook({"kind": "script", "code": "pass"})), variant(_hook({"kind": "script", "code": "pass", "timeout": 5}))),
    "MG-01": (variant(_owned, usage=_usage(apps_using=1, apps_total=40)), variant(_owned, usage=_usage(apps_using=10, apps_total=40))),
    "MG-02": (variant(_owned, usage=_usage(events=10_000, errors=50)), variant(_owned, usage=_usage(events=10_000, errors=10))),
    "MG-03": (variant(_owned, cbus={"item_master": CbuManifestInfo("item_master", "1.0.0", "1.2.0")}),
              variant(_owned, cbus={"item_master": CbuManifestInfo("item_master", "1.0.0", "1.0.0")})),
    "MG-04": (variant(lambda s: s.__setitem__("owners", {"entity:ghost": "item_master@1.0.0"})), variant(_owned)),
}
