"""Apps and metadata over HTTP: elements, fields (archive, restore, lossy retype),
publish with dry run, versions and rollback."""

from __future__ import annotations

META = "/api/apps/shop/meta"


def test_apps_list_and_create(api):
    r = api.get("sales", "/api/apps")
    assert r.status_code == 200 and [a["name"] for a in r.json()["data"]] == ["shop"]
    assert r.json()["next_cursor"] is None
    assert api.post("sales", "/api/apps", json={"name": "crm"}).status_code == 403
    r = api.post("admin", "/api/apps", json={"name": "crm", "label": {"zh": "客户", "en": "CRM"}})
    assert r.status_code == 201 and r.json()["name"] == "crm" and r.json()["published_version"] == 0
    assert api.post("admin", "/api/apps", json={"name": "crm"}).status_code == 409
    assert api.post("admin", "/api/apps", json={"name": "Bad Name!"}).status_code == 422
    r = api.post("admin", "/api/apps", json={"name": "foo", "template": "no_such_template"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "template"


def test_meta_elements_and_publish(api):
    meta = api.get("admin", META).json()
    assert meta["published_version"] == 1 and meta["draft"]["name"] == "shop" and meta["published"]
    assert api.get("admin", f"{META}/entities/item").json()["name"] == "item"
    r = api.put("admin", f"{META}/entities/customer", json={"fields": [{"name": "name", "type": "text"}]})
    assert r.status_code == 201 and r.json()["name"] == "customer"
    r = api.put("admin", f"{META}/roles/finance", json={"entities": {"item": {"read": True}}})
    assert r.status_code == 201
    assert api.get("admin", f"{META}/roles/finance").json()["entities"]["item"]["read"] is True
    assert api.get("admin", f"{META}/gadgets/x").status_code == 404
    assert api.get("admin", f"{META}/roles/none").status_code == 404
    r = api.put("admin", f"{META}/entities/bad", json={"fields": [{"name": "x", "type": "nonsense"}]})
    assert r.status_code == 422 and r.json()["errors"]
    dry = api.post("admin", "/api/apps/shop/publish?dry_run=1")
    assert dry.status_code == 200 and dry.json()["published"] is False
    assert any(c["element"] == "customer" for c in dry.json()["changes"])
    assert "health" in dry.json()
    assert api.get("admin", "/api/apps/shop/data/customer").status_code == 404  # not published yet
    r = api.post("admin", "/api/apps/shop/publish")
    assert r.status_code == 200 and r.json()["version"] == 2
    assert api.get("admin", "/api/apps/shop/data/customer").json() == {"data": [], "next_cursor": None}
    versions = api.get("admin", f"{META}/versions").json()
    assert [v["version"] for v in versions["data"]] == [2, 1]
    r = api.post("admin", "/api/apps/shop/rollback", json={"version": 1})
    assert r.status_code == 200 and r.json()["version"] == 3
    assert api.get("admin", "/api/apps/shop/data/customer").status_code == 404
    assert api.delete("admin", f"{META}/roles/finance").status_code in (204, 404)
    assert api.get("admin", f"{META}/changes").json()["data"]


def test_fields_archive_restore_and_lossy_retype(api):
    url = f"{META}/entities/item/fields/name"
    assert api.get("admin", url).json()["type"] == "text"
    r = api.put("admin", url, json={"name": "name", "type": "integer"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["previews"][0]["failing"] == 3 and body["previews"][0]["samples"]
    assert api.get("admin", url).json()["type"] == "text"  # refused: the draft is unchanged
    r = api.put("admin", url, json={"name": "name", "type": "integer", "conversion": {"on_error": "null"}})
    assert r.status_code == 200 and r.json()["type"] == "integer"
    r = api.put("admin", url, json={"name": "name", "type": "text"})
    assert r.status_code == 200
    r = api.delete("admin", f"{META}/entities/item/fields/qty")
    assert r.status_code == 200 and r.json()["archived"] is True
    api.post("admin", "/api/apps/shop/publish")
    rows = api.get("admin", "/api/apps/shop/data/item").json()["data"]
    assert "qty" not in rows[0]
    r = api.post("admin", f"{META}/entities/item/fields/qty/restore")
    assert r.status_code == 200 and r.json()["archived"] is False
    api.post("admin", "/api/apps/shop/publish")
    rows = api.get("admin", "/api/apps/shop/data/item").json()["data"]
    assert rows[0]["qty"] == 5  # data came back
    r = api.put("admin", f"{META}/entities/item/fields/weight", json={"type": "decimal"})
    assert r.status_code == 201


def test_create_app_from_a_template_through_the_installer_hook(api):
    """``POST /api/apps {template}`` reaches the market through the
    ``jimu_template_installers`` hook (the runtime never imports the market). Mutation:
    make ``routes_meta._installer`` return None and this is a 422."""
    import jimu.templates_market  # noqa: F401 - the server imports it with its routes

    r = api.post("admin", "/api/apps", json={"name": "food", "template": "food"})
    assert r.status_code == 201, r.text
    assert r.json()["published_version"] >= 1


def test_a_health_scanner_crash_on_publish_is_logged_and_raised(api, monkeypatch, caplog):
    """``routes_meta._health`` used to answer ``"health": null`` when the scanner
    crashed. Now the crash is logged with its traceback and the request fails as a
    problem+json 500 with a request id. Mutation: put back ``except Exception: return
    None`` and this is a 200 that hides the bug."""
    import logging

    import jimu.platform.health as health

    def crash(*args, **kwargs):
        raise RuntimeError("rule bug")

    monkeypatch.setattr(health, "run_scan", crash)
    with caplog.at_level(logging.ERROR, logger="jimu.api.meta"):
        r = api.post("admin", "/api/apps/shop/publish?dry_run=1")
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    assert "health scan of app shop failed" in caplog.text
