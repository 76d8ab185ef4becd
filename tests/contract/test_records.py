"""Records, lists, ETags, decimals, spec layouts, market, auth, users (DESIGN 15)."""

from __future__ import annotations

import re

from tests.contract.conftest import Server, first, problem
from tests.contract.helpers import APP, new_item


def test_health_and_market_need_no_login(server: Server) -> None:
    with server.client() as c:
        assert c.get("/api/health").json()["status"] == "ok"
        templates = c.get("/api/market/templates").json()
        assert set(templates) >= {"data", "next_cursor"}
        ids = {t["id"] for t in templates["data"]}
        assert {"standard", "food"} <= ids
        cbus = c.get("/api/market/cbus").json()
        assert cbus["data"] and "next_cursor" in cbus


def test_auth_errors_are_problems(server: Server) -> None:
    with server.client() as c:
        problem(c.post("/api/auth/token", json={"username": "admin", "password": "wrong"}), 401)
        problem(c.get(f"/api/apps/{APP}/data/item"), 401)
        problem(c.get(f"/api/apps/{APP}/data/item", headers={"Authorization": "Bearer forged.token.value"}), 401)


def test_list_envelope_record_shape_and_decimals(server: Server) -> None:
    item = new_item(server, cost="12.50")
    with server.client("admin") as c:
        page = c.get(f"/api/apps/{APP}/data/item", params={"limit": 2}).json()
        assert set(page) == {"data", "next_cursor"} and len(page["data"]) == 2 and page["next_cursor"]
        nxt = c.get(f"/api/apps/{APP}/data/item", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert {r["id"] for r in nxt["data"]}.isdisjoint({r["id"] for r in page["data"]})
        r = c.get(f"/api/apps/{APP}/data/item/{item['id']}")
        rec = r.json()
    assert {"id", "version", "created_at", "updated_at", "created_by", "updated_by"} <= set(rec)
    assert rec["cost_price"] == "12.50" and isinstance(rec["version"], int)
    assert r.headers["etag"] == f'"{rec["version"]}"'
    assert re.match(r"\d{4}-\d\d-\d\dT", rec["created_at"]) and ("+" in rec["created_at"] or rec["created_at"].endswith("Z"))


def test_patch_needs_if_match(server: Server) -> None:
    item = new_item(server)
    path = f"/api/apps/{APP}/data/item/{item['id']}"
    with server.client("admin") as c:
        problem(c.patch(path, json={"name": "改名"}), 428)
        ok = c.patch(path, json={"name": "改名"}, headers={"If-Match": f'"{item["version"]}"'})
        assert ok.status_code == 200, ok.text
        assert ok.json()["version"] == item["version"] + 1
        stale = problem(c.patch(path, json={"name": "再改"}, headers={"If-Match": f'"{item["version"]}"'}), 409)
        assert stale.get("current_version") == item["version"] + 1


def test_children_are_lists_and_links_are_ids(server: Server) -> None:
    with server.client("admin") as c:
        so = first(c, "sales_order")
        full = c.get(f"/api/apps/{APP}/data/sales_order/{so['id']}").json()
        assert isinstance(full["lines"], list)
        assert isinstance(full["customer"], int)
        expanded = c.get(f"/api/apps/{APP}/data/sales_order/{so['id']}", params={"expand": "customer"}).json()
        assert isinstance(expanded["customer"], dict) and expanded["customer"]["id"] == full["customer"]


def test_spec_layouts_read_back_as_written(server: Server) -> None:
    with server.client("admin") as c:
        ent = c.get(f"/api/apps/{APP}/meta/entities/item").json()
        assert isinstance(ent["fields"], list)
        cost = next(f for f in ent["fields"] if f["name"] == "cost_price")
        assert {"name", "label", "type", "required", "default", "unique", "indexed", "options"} <= set(cost)
        assert set(cost["label"]) >= {"zh", "en"} and cost["type"] == "money" and "currency" in cost["options"]
        wf = c.get(f"/api/apps/{APP}/meta/workflows/sales_order").json()
        assert wf["state_field"] == "state" and wf["entity"] == "sales_order"
        assert {t["name"] for t in wf["transitions"]} >= {"submit", "approve", "reject", "ship", "complete", "cancel"}
        ship = next(t for t in wf["transitions"] if t["name"] == "ship")
        assert {"from", "to", "roles", "inputs"} <= set(ship)
        # DESIGN 16: ship also takes the optional per-line ``lines`` (partial shipments).
        assert {i["name"] for i in ship["inputs"]} == {"warehouse_confirm_code", "logistics_no", "lines"}
        role = c.get(f"/api/apps/{APP}/meta/roles/sales").json()
        assert role["entities"]["item"]["fields"]["cost_price"] == {"mask": "ROUND_TO(cost_price, 1000)"}
        body = {"name": "contract_note", "label": {"zh": "合同备注", "en": "Contract note"}, "type": "text"}
        put = c.put(f"/api/apps/{APP}/meta/entities/customer/fields/contract_note", json=body)
        assert put.status_code in (200, 201), put.text
        back = c.get(f"/api/apps/{APP}/meta/entities/customer/fields/contract_note").json()
        assert back["label"] == {"zh": "合同备注", "en": "Contract note"} and back["type"] == "text"
        assert c.delete(f"/api/apps/{APP}/meta/entities/customer/fields/contract_note").status_code in (200, 204)


def test_users_api_and_deactivation(server: Server) -> None:
    with server.client("sales") as c:
        problem(c.get("/api/users"), 403)
    with server.client("admin") as c:
        users = c.get("/api/users").json()
        assert {"admin", "sales", "warehouse", "purchasing", "finance", "manager", "vp"} <= {
            u["username"] for u in users["data"]}
        r = c.post("/api/users", json={"username": "temp_user", "password": "pw-123456", "roles": ["sales"],
                                       "manager": "manager", "active": True})
        assert r.status_code == 201, r.text
        uid = r.json()["id"]
    token = server.client().post("/api/auth/token", json={"username": "temp_user", "password": "pw-123456"}).json()[
        "access_token"]
    with server.client() as c:
        assert c.get(f"/api/apps/{APP}/data/item", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with server.client("admin") as c:
        assert c.patch(f"/api/users/{uid}", json={"active": False}).status_code == 200
    with server.client() as c:
        problem(c.get(f"/api/apps/{APP}/data/item", headers={"Authorization": f"Bearer {token}"}), 401)


def test_post_answers_created_object_and_bad_input_is_422(server: Server) -> None:
    with server.client("admin") as c:
        body = problem(c.post(f"/api/apps/{APP}/data/item", json={"sku": None, "bogus": 1, "cost_price": "x"}), 422)
        fields = {e["field"] for e in body["errors"]}
        assert {"bogus", "cost_price"} <= fields
        problem(c.post(f"/api/apps/{APP}/data/item", content=b"{not json", headers={"content-type": "application/json"}),
                400)
        problem(c.post(f"/api/apps/{APP}/data/item", content=b"sku=1", headers={"content-type": "text/plain"}), 415)
        problem(c.get(f"/api/apps/{APP}/data/item", params={"filter": "cost_price >"}), 422)
        problem(c.get(f"/api/apps/{APP}/data/item/99999999"), 404)
        problem(c.get("/api/apps/nope/data/item/1"), 404)
