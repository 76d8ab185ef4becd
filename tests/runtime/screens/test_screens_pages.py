"""List, form, detail, kanban, dashboard, inbox, override chain, i18n completeness."""

from __future__ import annotations

from pathlib import Path

from jimu.runtime.screens.i18n import STRINGS, translate
from jimu.runtime.screens.views_list import build_filter
from jimu.testing import form_login
from tests.runtime.screens.conftest import find, make_app


def test_i18n_complete():
    assert all(zh and en for zh, en in STRINGS.values())
    assert translate("deleted_n", "en", n=3) == "Deleted 3"


def test_build_filter(std):
    ent = std.apps.get("standard").spec.entity("item")
    assert build_filter(ent, [("sku", "eq", "A"), ("sale_price", "gt", "5"), ("name", "contains", "奶"),
                              ("unit", "blank", "")]) == \
        'sku == "A" and sale_price > 5 and CONTAINS(name, "奶") and ISBLANK(unit)'


def test_list_search_filter_sort_and_pages(login):
    c = login("admin")
    html = c.get("/app/standard/item?q=SKU-A00").text
    assert "SKU-A001" in html and "SKU-A003" in html
    html = c.get("/app/standard/item?f_field=sku&f_op=eq&f_value=SKU-A002").text
    assert "SKU-A002" in html and "SKU-A001" not in html
    assert c.get("/app/standard/item?filter=nonsense ==").status_code == 422
    first = c.get("/app/standard/item?sort=sku").text
    assert 'rel="next"' in first  # the sample data has more than one page
    assert c.get("/app/standard/item?partial=rows").text.lstrip().startswith("<tr")


def test_saved_views(login):
    c = login("admin")
    r = c.post("/app/standard/item/views", data={"csrf_token": c.cookies.get("jimu_csrf"), "name": "牛奶",
                                                  "query": "q=%E7%89%9B%E5%A5%B6"})
    assert r.status_code == 303
    assert "牛奶</a>" in c.get("/app/standard/item").text


def test_create_edit_bulk_delete_customer(login, std):
    c = login("admin")
    csrf = c.cookies.get("jimu_csrf")
    r = c.post("/app/standard/customer/new", data={"csrf_token": csrf, "code": "C-T1", "name": "测试客户"})
    assert r.status_code == 303
    rid = r.headers["location"].rsplit("/", 1)[1]
    edit = c.get(f"/app/standard/customer/{rid}/edit").text
    assert 'name="version"' in edit
    r = c.post(f"/app/standard/customer/{rid}/edit", data={"csrf_token": csrf, "version": "1", "name": "改名客户"})
    assert r.status_code == 303 and "改名客户" in c.get(f"/app/standard/customer/{rid}").text
    stale = c.post(f"/app/standard/customer/{rid}/edit", data={"csrf_token": csrf, "version": "1", "name": "x"})
    assert stale.status_code == 409
    r = c.post("/app/standard/customer/bulk-delete", data={"csrf_token": csrf, "ids": [rid]})
    assert r.status_code == 303
    assert c.get(f"/app/standard/customer/{rid}").status_code == 404


def test_order_flow_through_screens(login, std):
    wh = find(std, "warehouse", 'code == "WH-SH"')["id"]
    items = std.records.list("standard", "item", filter='CONTAINS(sku, "SKU-A00")', sort="sku").data
    cust = find(std, "customer", 'code == "C-001"')["id"]
    s = login("sales")
    r = s.post("/app/standard/sales_order/new", data={
        "csrf_token": s.cookies.get("jimu_csrf"), "customer": cust, "warehouse": wh, "lines-present": "1",
        "lines-0-item": items[0]["id"], "lines-0-qty": "2", "lines-0-price": "12.80",
        "lines-1-item": items[1]["id"], "lines-1-qty": "1", "lines-1-price": "9.90"})
    assert r.status_code == 303, r.text[:2000]
    url = r.headers["location"]
    assert s.post(url + "/transition/submit", data={"csrf_token": s.cookies.get("jimu_csrf")}).status_code == 303
    m = login("manager")
    inbox = m.get("/app/standard/inbox").text
    assert url + '"' in inbox and 'data-vote="approve"' in inbox
    assert m.post(url + "/transition/approve", data={"csrf_token": m.cookies.get("jimu_csrf"),
                                                      "next": "/app/standard/inbox"}).status_code == 303
    w = login("warehouse")
    detail = w.get(url).text
    assert 'id="dlg-ship"' in detail and "仓库确认码" in detail and "物流单号" in detail
    bad = w.post(url + "/transition/ship", data={"csrf_token": w.cookies.get("jimu_csrf"),
                                                  "warehouse_confirm_code": "0000", "logistics_no": "SF1"})
    assert bad.status_code == 422 and "data-open" in bad.text
    ok = w.post(url + "/transition/ship", data={"csrf_token": w.cookies.get("jimu_csrf"),
                                                 "warehouse_confirm_code": "1234", "logistics_no": "SF100"})
    assert ok.status_code == 303
    detail = s.get(url).text
    assert "SF100" in detail and "已发货" in detail and "发货" in detail  # audit trail summary
    dash = w.get("/app/standard/dashboard").text
    assert 'id="stock-table"' in dash and "有机牛奶 1L" in dash and "98" in dash


def test_kanban_and_move(login, std):
    c = login("sales")
    html = c.get("/app/standard/sales_order/kanban").text
    assert 'data-state="pending_approval"' in html and "Sortable.min.js" in html
    # a shipped order of its own (created in that state: the workflow is not under test);
    # the module shares ``std`` with others, which may or may not have run first on this worker
    first = {e: std.records.list("standard", e, limit=1).data[0]["id"] for e in ("customer", "warehouse", "item")}
    order = std.records.create("standard", "sales_order", {
        "customer": first["customer"], "warehouse": first["warehouse"],
        "lines": [{"item": first["item"], "qty": "1", "price": "5"}]}, _state="shipped")
    r = c.post(f"/app/standard/sales_order/{order['id']}/move", json={"to": "draft"},
               headers={"X-CSRF-Token": c.cookies.get("jimu_csrf")})
    assert r.status_code == 409 and r.json()["reason"]


def test_scan_and_options(login):
    c = login("sales")
    r = c.get("/app/standard/_scan/item?code=6901234567002")
    assert r.status_code == 200 and r.json()["title"] == "全麦面包"
    assert c.get("/app/standard/_scan/item?code=nope").status_code == 404
    opts = c.get("/app/standard/_options/item?q=牛奶").text
    assert "有机牛奶 1L" in opts and "<option" in opts


def test_dashboard_orders_chart(login):
    html = login("manager", "en").get("/app/standard/dashboard").text
    assert "Orders by state" in html and "echarts.min.js" in html and 'class="chart"' in html


def test_override_chain(std, tmp_path: Path):
    from starlette.testclient import TestClient

    folder = tmp_path / "standard"
    folder.mkdir()
    (folder / "list.html").write_text('{% extends "builtin/list.html" %}{% block list_actions %}'
                                      '<span id="custom">OVERRIDE</span>{% endblock %}', encoding="utf-8")
    (folder / "item").mkdir()
    (folder / "item" / "detail.html").write_text('{% extends "builtin/detail.html" %}{% block detail_header %}'
                                                 '<h1>ITEM {{ title }}</h1>{% endblock %}', encoding="utf-8")
    client = TestClient(make_app(std), follow_redirects=False)
    std.settings["screens_dir"] = str(tmp_path)
    try:
        form_login(client, "admin")
        assert 'id="custom"' in client.get("/app/standard/customer").text
        item = find(std, "item", 'sku == "SKU-A001"')
        assert "<h1>ITEM SKU-A001" in client.get(f"/app/standard/item/{item['id']}").text or \
            "<h1>ITEM 有机牛奶" in client.get(f"/app/standard/item/{item['id']}").text
    finally:
        std.settings.pop("screens_dir")


def test_static_assets_vendored(std_app):
    from starlette.testclient import TestClient

    c = TestClient(std_app)
    for path in ("vendor/htmx/htmx.min.js", "vendor/alpinejs/alpine-csp.min.js", "vendor/sortablejs/Sortable.min.js",
                 "vendor/echarts/echarts.min.js", "jimu.css", "jimu.js", "vendor/echarts/LICENSE"):
        assert c.get(f"/static/jimu/{path}").status_code == 200, path


def test_list_headers_offer_sorting_on_indexed_columns_only(login):
    """Sales order list: the customer (a link, indexed) and number (auto number, unique)
    headers sort; amount and order date (no index) are plain labels. Mutation caught:
    building ``sort_urls`` for every column links the amount header."""
    c = login("admin", "en")
    html = c.get("/app/standard/sales_order").text
    assert "sort=customer" in html and "sort=number" in html
    assert "sort=amount" not in html and "sort=order_date" not in html
    assert ">Amount</th>" in html
