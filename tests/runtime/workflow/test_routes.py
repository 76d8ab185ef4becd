"""The workflow HTTP routes: transitions, approvals API, inbox, problem+json errors."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app


@pytest.fixture
def api(world):
    client = TestClient(create_app(world.jimu))
    tokens: dict[str, str] = {}

    def call(method, path, user, **kw):
        if user not in tokens:
            r = client.post("/api/auth/token", json={"username": user, "password": user})
            tokens[user] = r.json()["access_token"]
        return client.request(method, path, headers={"Authorization": f"Bearer {tokens[user]}"}, **kw)

    return call


def test_transition_flow_over_http(world, api):
    world.stock()
    so = world.order("6000")
    base = f"/api/apps/std/data/sales_order/{so['id']}"
    r = api("GET", base + "/transitions", "sales")
    assert r.status_code == 200 and [t["name"] for t in r.json()["data"]] == ["submit", "cancel"]
    r = api("POST", base + "/transitions/complete", "sales", json={})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["allowed"] == ["submit", "cancel"]
    r = api("POST", base + "/transitions/submit", "warehouse", json={})
    assert r.status_code == 403 and "submit" in r.json()["detail"]
    assert api("POST", base + "/transitions/submit", "sales", json={"comment": "pls"}).json()["state"] == \
        "pending_approval"
    inbox = api("GET", "/api/apps/std/inbox", "manager").json()
    assert inbox["next_cursor"] is None and inbox["data"][0]["kind"] == "approval"
    assert set(inbox["data"][0]) >= {"id", "kind", "title", "entity", "record", "at", "read"}
    r = api("POST", base + "/approvals/1/approve", "manager", json={"comment": "ok"})
    assert r.status_code == 200 and r.json()["state"] == "pending_approval"
    r = api("GET", base + "/transitions", "vp").json()
    assert r["approval"]["name"] == "vp" and [t["name"] for t in r["data"]] == ["approve", "reject"]
    assert api("POST", base + "/transitions/approve", "vp", json={}).json()["state"] == "approved"
    r = api("POST", base + "/transitions/ship", "warehouse",
            json={"inputs": {"warehouse_confirm_code": "nope", "logistics_no": "SF9"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "warehouse_confirm_code"
    r = api("POST", base + "/transitions/ship", "warehouse",
            json={"inputs": {"warehouse_confirm_code": "8888", "logistics_no": "SF9"}})
    assert r.status_code == 200 and r.json()["logistics_no"] == "SF9"
    entry = api("GET", "/api/apps/std/inbox", "vp").json()["data"]
    assert entry == []


def test_inbox_read_and_delegation(world, api):
    world.stock()
    r = api("POST", "/api/apps/std/delegations", "manager", json={"delegate": "finance"})
    assert r.status_code == 201
    so = world.order("100")
    world.fire(so["id"], "submit", "sales")
    [entry] = api("GET", "/api/apps/std/inbox", "finance").json()["data"]
    assert api("POST", f"/api/apps/std/inbox/{entry['id']}/read", "finance").json()["read"] is True
    assert api("POST", f"/api/apps/std/inbox/{entry['id']}/read", "warehouse").status_code == 404
    r = api("POST", f"/api/apps/std/data/sales_order/{so['id']}/approvals/1/approve", "finance", json={})
    assert r.json()["state"] == "approved"


def test_submitter_may_not_approve_even_through_delegation(world, api):
    """Issue 17: sales approved its own order after the manager delegated to sales. The
    submitter never approves their own document: not listed, 403 ``workflow.self_approval``
    on both the transition and the approvals API, and the manager still decides it.

    Mutations caught: removing the ``self_approval`` check from ``WorkflowEngine._vote``
    (sales' approve answers 200 and the order is approved); dropping the submitter filter
    of ``inbox.list_inbox`` (the manager's entry shows in sales' inbox)."""
    world.stock()
    r = api("POST", "/api/apps/std/delegations", "manager", json={"delegate": "sales"})
    assert r.status_code == 201, r.text
    so = world.order("100")
    base = f"/api/apps/std/data/sales_order/{so['id']}"
    assert api("POST", base + "/transitions/submit", "sales", json={}).json()["state"] == "pending_approval"
    assert "approve" not in [t["name"] for t in api("GET", base + "/transitions", "sales").json()["data"]]
    assert api("GET", "/api/apps/std/inbox", "sales").json()["data"] == []  # not offered to the submitter
    for path in ("/transitions/approve", "/approvals/1/approve"):
        r = api("POST", base + path, "sales", json={})
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["code"] == "workflow.self_approval"
    assert world.jimu.records.get("std", "sales_order", so["id"])["state"] == "pending_approval"
    r = api("POST", base + "/transitions/approve", "manager", json={})
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text


def test_a_submitter_holding_the_approver_role_is_not_an_approver(world, api):
    """A sales manager who submits an order is left out of the manager step's approvers
    (another manager decides it).

    Mutation caught: keeping the submitter among the resolved approvers in
    ``approvals.resolve_steps`` (boss's approve answers 200)."""
    world.jimu.users.create("boss", "boss", ["sales", "manager"], manager="vp")
    world.stock()
    so = world.order("100")
    base = f"/api/apps/std/data/sales_order/{so['id']}"
    assert api("POST", base + "/transitions/submit", "boss", json={}).json()["state"] == "pending_approval"
    r = api("GET", base + "/transitions", "boss").json()
    assert r["approval"]["approvers"] == ["manager"] and "approve" not in [t["name"] for t in r["data"]]
    assert api("POST", base + "/transitions/approve", "boss", json={}).status_code == 403
    assert api("POST", base + "/transitions/approve", "manager", json={}).json()["state"] == "approved"
