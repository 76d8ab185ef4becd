"""Spreadsheet import over HTTP (issue 22, DESIGN 16): preview with inferred fields,
all-or-nothing import with every bad cell reported, field rights, row filters, keys that
update, and ``create_entity`` through the spec store; SQLite and PostgreSQL.

Mutations tried (each made a test here fail):
- writing the good rows of a file with bad rows (the reported rows dropped from ``datas``
  instead of ``raise _fail``): ``test_bad_rows_all_reported_nothing_written`` (B001, B007 written);
- dropping the field-rights check (``policy.check_write`` in ``_targets``):
  ``test_warehouse_cannot_import_prices_it_cannot_see`` (200, prices written);
- resolving links over every warehouse instead of the caller's row filter
  (``clause`` ignored in ``link_index``): ``test_links_only_to_rows_the_caller_sees``;
- binding a preview to the app only (no user check in ``get_preview``):
  ``test_preview_is_bound_to_its_uploader``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu

APP = "depot"
ITEM = {"name": "item", "label": {"zh": "商品", "en": "Item"}, "title_field": "name", "search_fields": ["sku", "name"],
        "fields": [
            {"name": "sku", "type": "text", "required": True, "unique": True, "label": {"zh": "商品编码", "en": "SKU"}},
            {"name": "name", "type": "text", "required": True, "label": {"zh": "商品名称", "en": "Name"}},
            {"name": "unit_price", "type": "money", "label": {"zh": "单价", "en": "Unit price"}},
            {"name": "qty", "type": "decimal", "options": {"precision": 18, "scale": 2},
             "label": {"zh": "数量", "en": "Qty"}},
            {"name": "made_on", "type": "date", "label": {"zh": "生产日期", "en": "Made on"}},
            {"name": "phone", "type": "phone", "label": {"zh": "联系电话", "en": "Phone"}},
            {"name": "kind", "type": "choice", "label": {"zh": "类型", "en": "Kind"},
             "options": {"choices": [{"value": "goods", "label": {"zh": "商品", "en": "Goods"}},
                                     {"value": "service", "label": {"zh": "服务", "en": "Service"}}]}},
            {"name": "warehouse", "type": "link", "options": {"entity": "warehouse"},
             "label": {"zh": "仓库", "en": "Warehouse"}},
            {"name": "owner", "type": "text", "default": "$user"},
        ]}
WAREHOUSE = {"name": "warehouse", "label": {"zh": "仓库", "en": "Warehouse"}, "title_field": "name",
             "fields": [{"name": "name", "type": "text", "required": True}, {"name": "city", "type": "text"}]}
ROLES = [
    {"name": "warehouse", "entities": {
        "item": {"create": True, "read": True, "fields": {"unit_price": "hidden"}},
        "warehouse": {"read": True}}},
    {"name": "clerk", "entities": {
        "item": {"create": True, "read": True, "update": True, "row_filter": "owner == $user"},
        "warehouse": {"read": True, "row_filter": "city == \"杭州\""}}},
]
USERS = {"admin": ["admin"], "keeper": ["warehouse"], "clerk": ["clerk"], "clerk2": ["clerk"]}

CSV = ("商品编码,商品名称,单价,数量,生产日期,联系电话,类型,仓库,备注\n"
       "A001,蓝莓,¥25.80,2,2026-03-01,13800138000,商品,主仓,第一批\n"
       "A002,山药,12,1.5,2026/3/2,139 1234 5678,商品,二仓,\n"
       "A003,配送,8.00,1,2026年3月3日,0571-88886666,服务,主仓,\n"
       "A004,草莓,\"1,280.50\",10,20260304,13700001111,商品,主仓,\n")


class Api:
    def __init__(self, client: TestClient, jimu: Jimu) -> None:
        self.client, self.jimu = client, jimu
        self.tokens: dict[str, str] = {}

    def h(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def preview(self, user: str, text: str, name: str = "items.csv", entity: str | None = None) -> Any:
        data = {"entity": entity} if entity else {}
        return self.client.post(f"/api/apps/{APP}/import/preview", headers=self.h(user), data=data,
                                files={"file": (name, io.BytesIO(text.encode()), "text/csv")})

    def run(self, user: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/apps/{APP}/import", headers=self.h(user), json=body)

    def items(self) -> list[dict[str, Any]]:
        return self.jimu.records.list(APP, "item", limit=500, sort="sku").data


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    jimu = Jimu.open(db_url)
    jimu.store.create_app(APP, {"zh": "仓库", "en": "Depot"})
    jimu.store.put_element(APP, "entity", "warehouse", WAREHOUSE)
    jimu.store.put_element(APP, "entity", "item", ITEM)
    for role in ROLES:
        jimu.store.put_element(APP, "role", role["name"], role)
    jimu.store.publish(APP)
    for user, roles in USERS.items():
        jimu.users.create(user, user, roles)
    for name, city in (("主仓", "杭州"), ("二仓", "宁波")):
        jimu.records.create(APP, "warehouse", {"name": name, "city": city})
    with TestClient(create_app(jimu)) as client:
        yield Api(client, jimu)
    jimu.close()


MAPPING = {"shang_pin_bian_ma": "sku", "shang_pin_ming_cheng": "name", "dan_jia": "unit_price", "shu_liang": "qty",
           "sheng_chan_ri_qi": "made_on", "lian_xi_dian_hua": "phone", "lei_xing": "kind", "cang_ku": "warehouse"}


def test_preview_infers_fields_from_headers_and_values(api: Api) -> None:
    r = api.preview("admin", CSV, entity="item")
    assert r.status_code == 200, r.text
    body = r.json()
    got = {f["label"]: (f["name"], f["type"], f["options"]) for f in body["fields"]}
    assert got == {
        "商品编码": ("shang_pin_bian_ma", "text", {}),
        "商品名称": ("shang_pin_ming_cheng", "text", {}),
        "单价": ("dan_jia", "money", {"currency": "CNY"}),
        "数量": ("shu_liang", "decimal", {"precision": 18, "scale": 4}),
        "生产日期": ("sheng_chan_ri_qi", "date", {}),
        "联系电话": ("lian_xi_dian_hua", "phone", {}),
        "类型": ("lei_xing", "choice", {"choices": [{"value": "商品"}, {"value": "服务"}]}),
        "仓库": ("cang_ku", "link", {"entity": "warehouse"}),
        "备注": ("bei_zhu", "long_text", {}),
    }
    assert body["total"] == 4 and len(body["rows"]) == 4
    assert body["rows"][0]["dan_jia"] == "¥25.80" and body["fields"][2]["sample"][:2] == ["¥25.80", "12"]
    assert body["mapping"] == {**MAPPING, "bei_zhu": None}


def test_import_writes_typed_values(api: Api) -> None:
    pid = api.preview("admin", CSV).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 4, "updated": 0, "errors": []}
    rows = api.items()
    wh = {w["name"]: w["id"] for w in api.jimu.records.list(APP, "warehouse").data}
    assert [(i["sku"], i["unit_price"], i["qty"], i["made_on"].isoformat(), i["phone"], i["kind"], i["warehouse"])
            for i in rows] == [
        ("A001", Decimal("25.80"), Decimal("2"), "2026-03-01", "13800138000", "goods", wh["主仓"]),
        ("A002", Decimal("12"), Decimal("1.5"), "2026-03-02", "13912345678", "goods", wh["二仓"]),
        ("A003", Decimal("8.00"), Decimal("1"), "2026-03-03", "057188886666", "service", wh["主仓"]),
        ("A004", Decimal("1280.50"), Decimal("10"), "2026-03-04", "13700001111", "goods", wh["主仓"]),
    ]


BAD = ("商品编码,商品名称,单价,数量,生产日期,联系电话,类型,仓库\n"
       "B001,好行,10,1,2026-01-01,13800138000,商品,主仓\n"      # line 2: fine
       "B002,坏价,abc,1,2026-01-01,13800138000,商品,主仓\n"     # line 3: price
       "B003,坏日期,10,1,2026-13-45,13800138000,商品,主仓\n"    # line 4: date
       "B004,无仓,10,1,2026-01-01,13800138000,商品,三仓\n"      # line 5: warehouse
       "B001,重复,10,1,2026-01-01,13800138000,商品,主仓\n"      # line 6: sku repeats line 2
       "B006,,10,1,2026-01-01,13800138000,配件,主仓\n"          # line 7: name required, kind
       "B007,好行二,10,x,2026-01-01,13800138000,服务,二仓\n")  # line 8: qty


def test_bad_rows_all_reported_nothing_written(api: Api) -> None:
    pid = api.preview("admin", BAD).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "import.invalid" and body["created"] == 0 and body["bad_rows"] == 6
    assert sorted((e["row"], e["field"], e["code"]) for e in body["errors"]) == [
        (3, "unit_price", "type"), (4, "made_on", "type"), (5, "warehouse", "link"), (6, "sku", "unique"),
        (7, "kind", "choice"), (7, "name", "required"), (8, "qty", "type")]
    msg = next(e["message"] for e in body["errors"] if e["row"] == 5)
    assert "第 5 行「仓库」" in msg and "no warehouse named '三仓'" in msg
    assert api.items() == []


def test_existing_unique_value_is_reported(api: Api) -> None:
    api.jimu.records.create(APP, "item", {"sku": "A002", "name": "旧山药"})
    pid = api.preview("admin", CSV).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 422
    assert [(e["row"], e["field"], e["code"]) for e in r.json()["errors"]] == [(3, "sku", "unique")]
    assert [i["sku"] for i in api.items()] == ["A002"]


def test_key_updates_matching_records(api: Api) -> None:
    old = api.jimu.records.create(APP, "item", {"sku": "A002", "name": "旧山药", "unit_price": "9.00"})
    pid = api.preview("admin", CSV).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": MAPPING, "key": "sku"})
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 3, "updated": 1, "errors": []}
    a2 = api.jimu.records.get(APP, "item", old["id"])
    assert (a2["name"], a2["unit_price"], a2["version"]) == ("山药", Decimal("12"), 2)


def test_warehouse_cannot_import_prices_it_cannot_see(api: Api) -> None:
    pid = api.preview("keeper", CSV).json()["preview_id"]
    r = api.run("keeper", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 403, r.text
    assert "unit_price" in r.text
    assert api.items() == []
    no_price = {k: v for k, v in MAPPING.items() if v != "unit_price"}
    r = api.run("keeper", {"preview_id": pid, "entity": "item", "mapping": no_price})
    assert r.status_code == 200, r.text
    assert [(i["sku"], i["unit_price"], i["owner"]) for i in api.items()][:2] == [("A001", None, "keeper"),
                                                                                   ("A002", None, "keeper")]
    # the suggested mapping leaves the hidden price out
    assert api.preview("keeper", CSV, entity="item").json()["mapping"]["dan_jia"] is None


def test_links_only_to_rows_the_caller_sees(api: Api) -> None:
    """clerk sees only 杭州 warehouses: 二仓 (宁波) is not found for them."""
    body = api.preview("clerk", CSV).json()
    cang = next(f for f in body["fields"] if f["label"] == "仓库")
    assert cang["type"] != "link"  # 二仓 is not a warehouse the clerk can see: 3 of 4 values is below 90 %
    r = api.run("clerk", {"preview_id": body["preview_id"], "entity": "item", "mapping": MAPPING})
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(3, "warehouse")]


def test_preview_is_bound_to_its_uploader(api: Api) -> None:
    pid = api.preview("clerk", CSV).json()["preview_id"]
    r = api.run("clerk2", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 404 and r.json()["code"] == "import.preview_not_found"
    r = api.run("clerk", {"preview_id": "nope", "entity": "item", "mapping": MAPPING})
    assert r.status_code == 404


def test_create_entity_then_extend_it(api: Api) -> None:
    text = "供应商名称,联系电话,账期天数,信用额度\n鲜果园,13800001234,30,¥5000\n山野菜,021-66668888,45,¥12000.50\n"
    pid = api.preview("admin", text).json()["preview_id"]
    r = api.run("clerk", {"preview_id": pid, "entity": "vendor", "create_entity": True})
    assert r.status_code == 404  # not the clerk's preview
    pid2 = api.preview("clerk", text).json()["preview_id"]
    r = api.run("clerk", {"preview_id": pid2, "entity": "vendor", "create_entity": True})
    assert r.status_code == 403 and r.json()["code"] == "forbidden.admin"
    r = api.run("admin", {"preview_id": pid, "entity": "vendor", "create_entity": True})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 2
    spec = api.jimu.store.published(APP)
    assert spec is not None
    vendor = spec.entity("vendor")
    assert vendor is not None
    assert [(f.name, f.type) for f in vendor.fields] == [("gong_ying_shang_ming_cheng", "text"),
                                                        ("lian_xi_dian_hua", "phone"), ("zhang_qi_tian_shu", "integer"),
                                                        ("xin_yong_e_du", "money")]
    got = api.client.get(f"/api/apps/{APP}/data/vendor?sort=id", headers=api.h("admin")).json()["data"]
    assert [(v["gong_ying_shang_ming_cheng"], v["zhang_qi_tian_shu"], v["xin_yong_e_du"]) for v in got] == [
        ("鲜果园", 30, "5000.00"), ("山野菜", 45, "12000.50")]
    # extend: a new column becomes a new field of the existing entity
    more = "供应商名称,所在城市\n农家乐,杭州\n"
    pid = api.preview("admin", more).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "vendor", "create_entity": True,
                          "mapping": {"gong_ying_shang_ming_cheng": "gong_ying_shang_ming_cheng",
                                      "suo_zai_cheng_shi": "city"}})
    assert r.status_code == 200, r.text
    spec = api.jimu.store.published(APP)
    assert spec is not None and spec.entity("vendor").field("city") is not None  # type: ignore[union-attr]
    got = api.client.get(f"/api/apps/{APP}/data/vendor?sort=id", headers=api.h("admin")).json()["data"]
    assert [(v["gong_ying_shang_ming_cheng"], v.get("city")) for v in got] == [
        ("鲜果园", None), ("山野菜", None), ("农家乐", "杭州")]


def test_bad_requests(api: Api) -> None:
    r = api.client.post(f"/api/apps/{APP}/import/preview", headers=api.h("admin"), json={"file": "x"})
    assert r.status_code == 422 and r.json()["code"] == "import.file"
    r = api.preview("admin", "")
    assert r.status_code == 422 and r.json()["code"] == "import.file"
    pid = api.preview("admin", CSV).json()["preview_id"]
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": {"nope": "sku"}})
    assert r.status_code == 422 and r.json()["code"] == "import.mapping"
    r = api.run("admin", {"preview_id": pid, "entity": "item", "mapping": {"dan_jia": "nope"}})
    assert r.status_code == 422 and r.json()["code"] == "import.mapping"
    r = api.client.post(f"/api/apps/{APP}/import/preview", files={"file": ("a.csv", io.BytesIO(b"a\n1\n"))})
    assert r.status_code == 401


def test_openapi_per_caller(api: Api) -> None:
    """The keeper may create items only: the import's entity lists just ``item`` and
    there is no ``create_entity``; the admin's document has it. Mutation tried: listing
    every visible entity (``p.can(e.name, "create")`` dropped in ``importable``) fails here."""
    docs = {u: api.client.get(f"/api/apps/{APP}/openapi.json", headers=api.h(u)).json() for u in ("keeper", "admin")}
    for doc in docs.values():
        assert {"/api/apps/depot/import/preview", "/api/apps/depot/import"} <= set(doc["paths"])
    body = docs["keeper"]["paths"]["/api/apps/depot/import"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["entity"] == {"type": "string", "enum": ["item"]}
    assert "create_entity" not in body["schema"]["properties"]
    body = docs["admin"]["paths"]["/api/apps/depot/import"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["entity"] == {"type": "string"} and "create_entity" in body["schema"]["properties"]
