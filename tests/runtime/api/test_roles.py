"""The same requests answered per role: exactly the rows and fields each may see, in list,
detail, export, audit and the OpenAPI document."""

from __future__ import annotations

import csv
import io

import openpyxl
from openapi_spec_validator import validate

ITEMS = "/api/apps/shop/data/item"
ALL_FIELDS = {"sku", "name", "cost_price", "sale_price", "qty", "owner", "kind", "supplier"}
SYSTEM = {"id", "version", "created_at", "updated_at", "created_by", "updated_by"}


def test_list_rows_and_fields_per_role(api):
    admin = api.get("admin", ITEMS).json()["data"]
    sales = api.get("sales", ITEMS).json()["data"]
    warehouse = api.get("warehouse", ITEMS).json()["data"]
    assert {r["sku"] for r in admin} == {"A-1", "A-2", "B-1"}
    assert {r["sku"] for r in sales} == {"A-1", "A-2"}  # owner == $user
    assert {r["sku"] for r in warehouse} == {"A-1", "A-2", "B-1"}
    assert set(admin[0]) == SYSTEM | ALL_FIELDS
    assert set(sales[0]) == SYSTEM | ALL_FIELDS
    assert set(warehouse[0]) == SYSTEM | ALL_FIELDS - {"cost_price"}  # hidden is absent
    by_sku = {r["sku"]: r for r in sales}
    assert by_sku["A-1"]["cost_price"] == "12000"  # masked: ROUND_TO(12345.50, 1000)
    assert by_sku["A-2"]["cost_price"] == "1000"
    assert {r["sku"]: r["cost_price"] for r in admin}["A-1"] == "12345.50"  # decimals are strings
    assert api.get("sales2", ITEMS).json()["data"][0]["sku"] == "B-1"


def test_detail_per_role(api):
    a1, b1 = api.ids["items"]["A-1"], api.ids["items"]["B-1"]
    r = api.get("sales", f"{ITEMS}/{a1}")
    assert r.status_code == 200 and r.json()["cost_price"] == "12000"
    assert r.headers["etag"] == '"1"'
    # Outside the row filter: 404, never 403 (existence does not leak).
    r = api.get("sales", f"{ITEMS}/{b1}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = api.get("warehouse", f"{ITEMS}/{b1}")
    assert r.status_code == 200 and "cost_price" not in r.json()
    assert api.get("admin", f"{ITEMS}/{b1}").json()["cost_price"] == "56789.00"
    # No rights at all on the entity: it does not exist for the caller.
    assert api.get("nobody", ITEMS).status_code == 404
    assert api.get("warehouse", "/api/apps/shop/data/supplier").status_code == 404


def test_filter_cannot_probe_hidden_or_masked_fields(api):
    assert api.get("admin", ITEMS, params={"filter": "cost_price > 50000"}).json()["data"][0]["sku"] == "B-1"
    for user in ("sales", "warehouse"):
        r = api.get(user, ITEMS, params={"filter": "cost_price > 50000"})
        assert r.status_code == 422, (user, r.text)
        r = api.get(user, ITEMS, params={"sort": "-cost_price"})
        assert r.status_code == 422


def test_writes_per_role(api):
    a1 = api.ids["items"]["A-1"]
    # warehouse may update qty but not the read-only sale_price: 403 naming the field.
    r = api.patch("warehouse", f"{ITEMS}/{a1}", json={"qty": 7, "sale_price": "1"}, headers={"If-Match": '"1"'})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "sale_price"
    assert "sale_price" in r.json()["detail"]
    r = api.patch("warehouse", f"{ITEMS}/{a1}", json={"cost_price": "1"}, headers={"If-Match": '"1"'})
    assert r.status_code == 403  # hidden is not writable either
    r = api.patch("warehouse", f"{ITEMS}/{a1}", json={"qty": 7}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["qty"] == 7 and r.headers["etag"] == '"2"'
    # warehouse may not create; sales may not delete; sales may not write a masked field.
    assert api.post("warehouse", ITEMS, json={"sku": "W-1"}).status_code == 403
    assert api.delete("sales", f"{ITEMS}/{a1}").status_code == 403
    r = api.post("sales", ITEMS, json={"sku": "S-9", "cost_price": "5"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "cost_price"
    r = api.post("sales", ITEMS, json={"sku": "S-9", "sale_price": "5"})
    assert r.status_code == 201 and r.json()["owner"] == "sales"
    # A sales user may not hand a record to someone else (it would leave their rows).
    r = api.patch("sales", f"{ITEMS}/{r.json()['id']}", json={"owner": "sales2"}, headers={"If-Match": '"1"'})
    assert r.status_code == 403
    # Outside the row filter: 404 for update and delete too.
    b1 = api.ids["items"]["B-1"]
    assert api.patch("sales", f"{ITEMS}/{b1}", json={"qty": 1}, headers={"If-Match": '"1"'}).status_code == 404
    assert api.delete("admin", f"{ITEMS}/{b1}").status_code == 204
    assert api.get("admin", f"{ITEMS}/{b1}").status_code == 404


def _csv(resp):
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_export_per_role(api):
    rows = _csv(api.get("admin", "/api/apps/shop/export", params={"entity": "item"}))
    assert {r["sku"] for r in rows} == {"A-1", "A-2", "B-1"}
    assert {r["sku"]: r["cost_price"] for r in rows}["B-1"] == "56789.00"
    rows = _csv(api.get("sales", "/api/apps/shop/export", params={"entity": "item"}))
    assert {r["sku"]: r["cost_price"] for r in rows} == {"A-1": "12000", "A-2": "1000"}
    r = api.get("warehouse", "/api/apps/shop/export", params={"entity": "item"})
    assert r.status_code == 403
    r = api.get("sales", "/api/apps/shop/export", params={"entity": "item", "format": "xlsx"})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = list(ws.values)
    header = list(values[0])
    assert "cost_price" in header and len(values) == 3
    assert {row[header.index("sku")]: row[header.index("cost_price")] for row in values[1:]} == {
        "A-1": "12000", "A-2": "1000"}


def test_export_checks_the_app_and_rights_before_its_parameters(api):
    """A caller who may export nothing gets 403 whatever the query (no entity, a bad
    format), an unknown app is 404, and only a caller who may export hears about a missing
    entity or a bad format (422). Mutation tried: the rights check removed from ``export``
    (``routes_data``) -> warehouse gets 422 "entity is required" (the old order); the entity's
    ``require`` moved back after the format check -> sales' bad format on an unknown entity
    is 422, not 404."""
    for params in ({}, {"format": "pdf"}, {"entity": "item", "format": "pdf"}):
        r = api.get("warehouse", "/api/apps/shop/export", params=params)
        assert r.status_code == 403 and r.json()["code"] == "forbidden.export", (params, r.text)
    r = api.get("sales", "/api/apps/nope/export")
    assert r.status_code == 404, r.text
    r = api.get("sales", "/api/apps/shop/export")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "entity", r.text
    r = api.get("sales", "/api/apps/shop/export", params={"entity": "item", "format": "pdf"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format", r.text
    r = api.get("sales", "/api/apps/shop/export", params={"entity": "nope", "format": "pdf"})
    assert r.status_code == 404, r.text


def test_xlsx_export_leaves_out_control_characters(api):
    """Text holding control characters (the API stores what it is sent) exports as XLSX
    without them instead of a 500; CSV keeps them. Mutation: the ILLEGAL_CHARACTERS_RE
    substitution in ``to_xlsx`` removed -> openpyxl's IllegalCharacterError, a 500."""
    r = api.post("sales", ITEMS, json={"sku": "C-1", "name": "Bolt\x01\x1f set"})
    assert r.status_code == 201, r.text
    r = api.get("sales", "/api/apps/shop/export", params={"entity": "item", "format": "xlsx"})
    assert r.status_code == 200, r.text
    values = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.values)
    assert "Bolt set" in [row[values[0].index("name")] for row in values[1:]]
    csv_text = api.get("sales", "/api/apps/shop/export", params={"entity": "item"}).content.decode("utf-8-sig")
    assert "Bolt\x01\x1f set" in csv_text


def test_inbox_id_beyond_64_bits_is_404(api):
    """Mutation: the ``>= 2**63`` check in ``routes_workflow.read_entry`` removed -> the
    database driver's overflow error, a 500."""
    r = api.post("sales", "/api/apps/shop/inbox/18903394447139004416/read")
    assert r.status_code == 404 and r.json()["code"] == "inbox.not_found", r.text


def test_audit_per_role(api):
    a1, b1 = api.ids["items"]["A-1"], api.ids["items"]["B-1"]
    api.patch("admin", f"{ITEMS}/{a1}", json={"cost_price": "23456.00"}, headers={"If-Match": '"1"'})
    admin = api.get("admin", "/api/apps/shop/audit", params={"entity": "item", "record": str(a1)}).json()
    assert admin["next_cursor"] is None
    change = admin["data"][0]["changes"][0]
    assert change == {"field": "cost_price", "old": "12345.50", "new": "23456.00"}
    sales = api.get("sales", "/api/apps/shop/audit", params={"entity": "item", "record": str(a1)}).json()["data"]
    assert sales[0]["changes"][0] == {"field": "cost_price", "old": "12000", "new": "23000"}
    assert "12345" not in str(sales) and "23456" not in str(sales)
    wh = api.get("warehouse", "/api/apps/shop/audit", params={"entity": "item", "record": str(a1)}).json()["data"]
    assert wh[0]["changes"] == [] and "12345" not in str(wh) and "cost_price" not in str(wh)
    # Records outside the row filter: 404 when asked for, absent from the trail.
    assert api.get("sales", "/api/apps/shop/audit", params={"entity": "item", "record": str(b1)}).status_code == 404
    trail = api.get("sales", "/api/apps/shop/audit").json()["data"]
    assert trail and all(e["record"] != str(b1) for e in trail if e["entity"] == "item")
    supplier = [e for e in trail if e["entity"] == "supplier"]
    assert supplier and "phone" not in str(supplier) and "123" not in str(supplier)  # hidden for sales
    assert api.get("warehouse", "/api/apps/shop/audit", params={"entity": "supplier"}).status_code == 404


def test_openapi_per_role(api):
    docs = {u: api.get(u, "/api/apps/shop/openapi.json").json() for u in ("admin", "sales", "warehouse")}
    for doc in docs.values():
        validate(doc)
    item = {u: d["components"]["schemas"]["Item"]["properties"] for u, d in docs.items()}
    assert set(item["admin"]) == SYSTEM | ALL_FIELDS
    assert item["sales"]["cost_price"]["x-jimu-masked"] is True
    assert "x-jimu-masked" not in item["admin"]["cost_price"]
    assert "cost_price" not in item["warehouse"]
    assert item["admin"]["cost_price"]["type"] == ["string", "null"] and "pattern" in item["admin"]["cost_price"]
    # A choice is a named enum schema (one class in a generated client), nullable when optional.
    assert item["admin"]["kind"]["anyOf"] == [{"$ref": "#/components/schemas/ItemKind"}, {"type": "null"}]
    assert docs["admin"]["components"]["schemas"]["ItemKind"] == {"type": "string", "enum": ["raw", "goods"]}
    paths = {u: d["paths"] for u, d in docs.items()}
    assert "post" in paths["sales"]["/api/apps/shop/data/item"]
    assert "post" not in paths["warehouse"]["/api/apps/shop/data/item"]
    assert "delete" not in paths["sales"]["/api/apps/shop/data/item/{id}"]
    assert "/api/apps/shop/data/supplier" not in paths["warehouse"]
    assert "Supplier" not in docs["warehouse"]["components"]["schemas"]
    assert "phone" not in docs["sales"]["components"]["schemas"]["Supplier"]["properties"]
    inputs = docs["warehouse"]["components"]["schemas"]["ItemInput"]["properties"]
    assert "qty" in inputs and "sale_price" not in inputs and "cost_price" not in inputs
    assert docs["admin"]["components"]["schemas"]["ItemInput"]["required"] == ["sku"]


def test_expand_and_fields(api):
    a1 = api.ids["items"]["A-1"]
    r = api.get("sales", f"{ITEMS}/{a1}", params={"expand": "supplier"})
    assert r.json()["supplier"] == {**r.json()["supplier"], "name": "Acme"}
    assert "phone" not in r.json()["supplier"]  # the target's field rights apply
    r = api.get("warehouse", ITEMS, params={"expand": "supplier"})  # cannot read suppliers: ids stay
    assert isinstance(r.json()["data"][0]["supplier"], int)
    r = api.get("sales", ITEMS, params={"fields": "sku,cost_price"})
    assert set(r.json()["data"][0]) == SYSTEM | {"sku", "cost_price"}
    assert api.get("warehouse", ITEMS, params={"fields": "sku,cost_price"}).status_code == 422


def test_app_defined_admin_role_is_just_a_role(api):
    jimu = api.jimu
    jimu.store.put_element("shop", "role", "admin", {"name": "admin", "entities": {
        "item": {"read": True, "fields": {"cost_price": "hidden"}}}})
    jimu.store.publish("shop")
    rows = api.get("admin", ITEMS).json()["data"]
    assert rows and "cost_price" not in rows[0]
    assert api.get("admin", "/api/apps/shop/data/supplier").status_code == 404
