"""Screens honour AccessPolicy: masked fields show the mask, hidden fields are absent,
read-only fields are not editable; zh and en."""

from __future__ import annotations

import re

from jimu.testing import form_login
from tests.runtime.screens.conftest import find


def _item(std):
    return find(std, "item", 'sku == "SKU-A001"')


def test_login_redirects_and_language(login, std_app):
    from starlette.testclient import TestClient

    anon = TestClient(std_app, follow_redirects=False)
    r = anon.get("/app/standard/item")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert "登录" in anon.get("/login").text
    anon.cookies.set("jimu_lang", "en")
    assert "Log in" in anon.get("/login").text
    bad = form_login(anon, "sales", "nope")
    assert bad.status_code == 401 and "Wrong username or password" in bad.text
    assert login("sales").get("/").headers["location"] == "/apps"


def test_item_detail_masked_for_sales(login, std):
    item = _item(std)
    html = login("sales").get(f"/app/standard/item/{item['id']}").text
    assert "成本价" in html and 'class="badge mask"' in html
    assert "8.40" not in html  # the real cost is never sent
    assert "¥12.80" in html  # sale price readable


def test_item_detail_hidden_for_warehouse(login, std):
    item = _item(std)
    html = login("warehouse").get(f"/app/standard/item/{item['id']}").text
    assert "成本价" not in html and "cost_price" not in html and "售价" not in html
    assert "SKU-A001" in html


def test_item_detail_full_for_admin_in_english(login, std):
    item = _item(std)
    html = login("admin", "en").get(f"/app/standard/item/{item['id']}").text
    assert "Cost price" in html and "¥8.40" in html and 'class="badge mask"' not in html
    assert 'lang="en"' in html


def test_export_csv_masks_and_hides(login, std):
    sales = login("sales").get("/app/standard/item/export.csv?q=SKU-A001")
    assert sales.status_code == 200 and "成本价" in sales.text and "8.40" not in sales.text
    wh = login("warehouse").get("/app/standard/item/export.csv")
    assert wh.status_code == 403
    xlsx = login("admin").get("/app/standard/item/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_sales_order_form_read_only_fields(login, std):
    client = login("sales")
    html = client.get("/app/standard/sales_order/new").text
    assert 'name="customer"' in html and 'name="lines-present"' in html
    assert 'name="logistics_no"' not in html  # read-only for sales
    assert 'name="state"' not in html and 'name="amount"' not in html  # state via transitions, formula computed
    assert 'class="scan-input"' in html  # barcode scan on stock documents


def test_warehouse_sees_no_amounts(login, std):
    order = std.records.list("standard", "sales_order", limit=1).data[0]
    html = login("warehouse").get(f"/app/standard/sales_order/{order['id']}").text
    assert "明细" in html
    assert not re.search(r">\s*金额\s*<", html) and "单价" not in html


def test_entity_without_rights_is_404(login):
    r = login("warehouse").get("/app/standard/customer")
    assert r.status_code == 404 and "找不到" in r.text


def test_form_validation_inline(login):
    client = login("sales")
    r = client.post("/app/standard/customer/new", data={"csrf_token": client.cookies.get("jimu_csrf"), "name": ""})
    assert r.status_code == 422
    assert 'class="error"' in r.text and 'aria-invalid="true"' in r.text


def test_csrf_required(login):
    client = login("sales")
    r = client.post("/app/standard/customer/new", data={"name": "x"})
    assert r.status_code == 403


def test_every_input_has_a_label(login):
    html = login("admin").get("/app/standard/item/new").text
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*aria-label)[^>]*\sid="([^"]+)"', html)
    assert ids
    for i in ids:
        assert f'for="{i}"' in html, i


def _header_row(response) -> list[str]:
    import csv
    import io

    return next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_export_headers_are_labels_in_the_users_language(login):
    zh = _header_row(login("sales").get("/app/standard/item/export.csv?q=SKU-A001"))
    assert zh[:3] == ["编号", "商品编码", "商品名称"] and "成本价" in zh and "cost_price" not in zh
    en = _header_row(login("sales", "en").get("/app/standard/item/export.csv?q=SKU-A001"))
    assert en[0] == "ID" and "Cost price" in en and "成本价" not in en and len(en) == len(zh)
    names = login("sales", "en").get("/app/standard/item/export.csv?q=SKU-A001&headers=names")
    assert _header_row(names)[:3] == ["id", "sku", "name"] and "cost_price" in _header_row(names)
    rows = names.content.decode("utf-8-sig").splitlines()
    assert len(rows) == 2 and "SKU-A001" in rows[1] and "8.40" not in rows[1]  # same values, masked

    from io import BytesIO

    from openpyxl import load_workbook

    xlsx = login("admin", "en").get("/app/standard/item/export.xlsx?q=SKU-A001")
    sheet = load_workbook(BytesIO(xlsx.content), read_only=True).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][:2] == ["ID", "SKU"] and "Cost price" in table[0]
    assert table[1][table[0].index("Cost price")] == "8.40"  # admin sees the real cost, under its label
