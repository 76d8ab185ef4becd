"""Child rows have no rights of their own (DESIGN 8, issue 17): a line is read only where
its order may be read (the order's row filter limits the line's GET and list), and written
only through the order's child list, on every entry point (API, OpenAPI, screens).

The app: ``job`` (owner, state, lines, amount = SUM(lines.amount)) with a workflow that
locks the lines once confirmed; role ``clerk`` reads and updates its own orders only
(``owner == $user``) and holds every right on ``job_line``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.platform.actor import Actor
from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from tests.runtime.screens.conftest import login_client

APP = "/api/apps/orders"
SPEC: dict[str, Any] = {
    "name": "orders", "label": {"zh": "订单", "en": "Orders"},
    "entities": [
        {"name": "job", "title_field": "title", "fields": [
            {"name": "title", "type": "text"},
            {"name": "owner", "type": "text", "default": "$user"},
            {"name": "state", "type": "choice", "options": {"choices": ["draft", "confirmed"]}},
            {"name": "lines", "type": "child_table", "options": {"entity": "job_line"}},
            {"name": "amount", "type": "formula", "options": {"expression": "SUM(lines.amount)",
                                                             "result_type": "money", "scale": 2}}]},
        {"name": "job_line", "fields": [
            {"name": "label", "type": "text"},
            {"name": "qty", "type": "decimal", "options": {"precision": 18, "scale": 4}},
            {"name": "price", "type": "money"},
            {"name": "amount", "type": "formula", "options": {"expression": "qty * price", "result_type": "money",
                                                             "scale": 2}}]}],
    "roles": [{"name": "clerk", "entities": {
        "job": {"create": True, "read": True, "update": True, "transitions": ["confirm"],
                  "row_filter": "owner == $user"},
        "job_line": {"create": True, "read": True, "update": True, "delete": True, "export": True}}}],
    "workflows": [{"name": "job", "entity": "job", "states": [
        {"name": "draft", "initial": True}, {"name": "confirmed", "editable_fields": ["title"]}],
        "transitions": [{"name": "confirm", "from": ["draft"], "to": "confirmed", "roles": ["clerk"]}]}],
}


@pytest.fixture
def shop(jimu: Jimu) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    jimu.store.create_app("orders", {"zh": "订单", "en": "Orders"})
    jimu.store.save_draft("orders", SPEC)
    jimu.store.publish("orders")
    for name in ("clerk1", "clerk2"):
        jimu.users.create(name, name, ["clerk"])
    mine = jimu.records.create("orders", "job", {"title": "mine", "lines": [{"label": "a", "qty": "2", "price": "3"}]},
                               actor=Actor("clerk1", ("clerk",)))
    theirs = jimu.records.create("orders", "job", {"title": "theirs",
                                                     "lines": [{"label": "b", "qty": "1", "price": "7"}]},
                                 actor=Actor("clerk2", ("clerk",)))
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        token = client.post("/api/auth/token", json={"username": "clerk1", "password": "clerk1"}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, {"mine": mine, "theirs": theirs}


def test_a_line_of_an_order_outside_the_row_filter_does_not_exist(shop: Any, jimu: Jimu) -> None:
    """The finding: the order of another clerk answered 404, its line 200 to GET and PATCH.

    Mutations caught: dropping the parent's read filter from ``AccessPolicy.row_clause``
    for child entities (the line's GET answers 200 and the list holds both lines);
    dropping the read-first step of ``AccessPolicy.load`` for writes (the PATCH of the
    hidden line answers 409 instead of 404)."""
    client, recs = shop
    theirs = recs["theirs"]
    line = theirs["lines"][0]
    assert client.get(f"{APP}/data/job/{theirs['id']}").status_code == 404
    url = f"{APP}/data/job_line/{line['id']}"
    r = client.get(url)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert client.patch(url, json={"price": "9999"}, headers={"If-Match": '"1"'}).status_code == 404
    assert client.delete(url).status_code == 404
    listed = client.get(f"{APP}/data/job_line").json()["data"]
    assert [x["id"] for x in listed] == [recs["mine"]["lines"][0]["id"]]
    assert client.get(f"{APP}/data/job_line", params={"filter": "price > 5"}).json()["data"] == []
    export = client.get(f"{APP}/export", params={"entity": "job_line"})
    assert export.status_code == 200 and "7.00" not in export.text and "3.00" in export.text
    assert jimu.records.get("orders", "job", theirs["id"])["lines"][0]["price"] == line["price"]


def test_lines_are_written_through_the_order_only(shop: Any, jimu: Jimu) -> None:
    """A visible line is read; writing it directly is ``record.child_direct`` (409 for
    PATCH/DELETE naming the order, 422 for POST); the order's child list works and
    recomputes the order's amount, and its state lock then applies to the lines.

    Mutation caught: removing the write refusal from ``AccessPolicy.load`` (the PATCH is
    refused by ``require`` without naming the order's id)."""
    client, recs = shop
    mine = recs["mine"]
    line = mine["lines"][0]
    url = f"{APP}/data/job_line/{line['id']}"
    assert client.get(url).json()["amount"] == "6.00"
    r = client.patch(url, json={"qty": "5"}, headers={"If-Match": '"1"'})
    assert r.status_code == 409 and r.json()["code"] == "record.child_direct", r.text
    assert r.json()["parent"]["id"] == mine["id"] and r.json()["parent"]["field"] == "lines"
    r = client.delete(url)
    assert r.status_code == 409 and r.json()["code"] == "record.child_direct"
    r = client.post(f"{APP}/data/job_line", json={"label": "x", "qty": "1", "price": "1"})
    assert r.status_code == 422 and r.json()["code"] == "record.child_direct"
    order_url = f"{APP}/data/job/{mine['id']}"
    r = client.patch(order_url, json={"lines": [{"id": line["id"], "qty": "5"}]}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == "15.00" and r.json()["lines"][0]["amount"] == "15.00"
    r = client.post(f"{order_url}/transitions/confirm", json={})
    assert r.status_code == 200, r.text
    r = client.patch(order_url, json={"lines": [{"id": line["id"], "qty": "50"}]},
                     headers={"If-Match": f'"{r.json()["version"]}"'})
    assert r.status_code == 409 and r.json()["code"] == "workflow.state_locked"
    assert jimu.records.get("orders", "job", mine["id"])["lines"][0]["qty"] == 5
    paths = client.get(f"{APP}/openapi.json").json()["paths"]
    assert not [p for p in paths if "/data/job_line" in p]  # documented under the order only


def test_screens_offer_no_path_around_the_order(shop: Any, jimu: Jimu) -> None:
    """The generated screens of a child entity: no New/Edit/Delete, and posting the edit
    or bulk-delete form anyway changes nothing.

    Mutation caught: letting child entities keep their write rights in
    ``AccessPolicy.grant`` (the list page offers "new" and row checkboxes for delete)."""
    client, recs = shop
    line = recs["mine"]["lines"][0]
    c = login_client(client.app, "clerk1")
    csrf = c.cookies.get("jimu_csrf") or ""
    page = c.get("/app/orders/job_line")
    assert page.status_code == 200
    assert "/app/orders/job_line/new" not in page.text and 'name="ids"' not in page.text
    assert c.get("/app/orders/job_line/new").status_code in (409, 422)
    assert c.get(f"/app/orders/job_line/{line['id']}/edit").status_code == 409
    r = c.post(f"/app/orders/job_line/{line['id']}/edit", data={"csrf_token": csrf, "version": "1", "qty": "99"})
    assert r.status_code == 409
    r = c.post("/app/orders/job_line/bulk-delete", data={"csrf_token": csrf, "ids": str(line["id"])})
    assert r.status_code == 409
    theirs = recs["theirs"]["lines"][0]
    assert c.get(f"/app/orders/job_line/{theirs['id']}").status_code == 404
    assert jimu.records.get("orders", "job", recs["mine"]["id"])["lines"][0]["qty"] == 2


def test_the_record_service_refuses_direct_child_writes_too(shop: Any, jimu: Jimu) -> None:
    """Below the gate, for any caller that reaches the record service (automations,
    scripts, actions): update and delete of a child row are refused the same way.

    Mutation caught: making ``_refuse_child`` refuse creates only (the update goes
    through and the order keeps a stale amount)."""
    from jimu.core.errors import Conflict

    _client, recs = shop
    mine = recs["mine"]
    line = mine["lines"][0]
    with pytest.raises(Conflict) as info:
        jimu.records.update("orders", "job_line", line["id"], {"qty": "9"})
    assert info.value.code == "record.child_direct" and info.value.extra["parent"]["id"] == mine["id"]
    with pytest.raises(Conflict) as info:
        jimu.records.delete("orders", "job_line", line["id"])
    assert info.value.code == "record.child_direct"
    assert jimu.records.get("orders", "job", mine["id"])["lines"][0]["qty"] == 2
