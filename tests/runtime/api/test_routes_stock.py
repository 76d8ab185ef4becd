"""Transfer discrepancy routes on the standard template: list (by transfer, by state, paged)
and resolve (with a reason), through the caller's rights on stock_transfer, problem+json for
bad input, 404 for another app's ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.templates_market.installer import install_template
from tests.bearer import BearerClient

APP, OTHER = "standard", "other"
USERS = ("admin", "warehouse", "manager", "sales")
URL = f"/api/apps/{APP}/ledgers/stock/discrepancies"


Client = BearerClient


def problem(r: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert {"type", "title", "status", "detail", "errors"} <= set(body) and body["status"] == status
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return dict(body)


@pytest.fixture
def api(db_url: str) -> Iterator[Client]:
    jimu = Jimu.open(db_url)
    install_template(jimu, APP, "standard", sample_data=False)
    install_template(jimu, OTHER, "standard", sample_data=False)
    for user in USERS:
        jimu.users.create(user, user, [user])
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Client(client)
    jimu.close()


def _setup(api: Client, app: str = APP) -> dict[str, Any]:
    base = f"/api/apps/{app}/data"
    a = api.post("admin", f"{base}/warehouse", {"name": "A", "confirm_code": "1"}).json()["id"]
    b = api.post("admin", f"{base}/warehouse", {"name": "B", "confirm_code": "2"}).json()["id"]
    item = api.post("admin", f"{base}/item", {"sku": "S", "name": "Strawberries"}).json()["id"]
    r = api.post("warehouse", f"{base}/stock_adjustment", {"item": item, "warehouse": a, "qty": "50", "reason": "opening"})
    assert r.status_code == 201, r.text
    return {"a": a, "b": b, "item": item, "app": app}


def _transfer(api: Client, s: dict[str, Any], qty: str, received: str | None) -> int:
    base = f"/api/apps/{s['app']}/data/stock_transfer"
    r = api.post("warehouse", base, {"item": s["item"], "from_warehouse": s["a"], "to_warehouse": s["b"], "qty": qty})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert api.post("warehouse", f"{base}/{tid}/transitions/ship", {"inputs": {}}).status_code == 200
    inputs = {} if received is None else {"received_qty": received}
    r = api.post("warehouse", f"{base}/{tid}/transitions/receive", {"inputs": inputs})
    assert r.status_code == 200, r.text
    return int(tid)


def _on_hand(api: Client, s: dict[str, Any], wh: int) -> str:
    r = api.get("admin", f"/api/apps/{s['app']}/ledgers/stock/balances", item=s["item"], warehouse=wh)
    return str(r.json()["data"][0]["on_hand"])


def test_list_and_resolve_through_the_transfer_rights(api: Client) -> None:
    s = _setup(api)
    short = _transfer(api, s, "10", "7")
    exact = _transfer(api, s, "5", None)
    over = _transfer(api, s, "4", "6")
    got = api.get("warehouse", URL).json()
    assert got["next_cursor"] is None
    assert [(d["transfer"]["id"], d["sent"], d["received"], d["difference"], d["state"]) for d in got["data"]] == [
        (str(short), "10.0000", "7.0000", "-3.0000", "open"), (str(over), "4.0000", "6.0000", "2.0000", "open")]
    assert api.get("warehouse", URL, transfer=exact).json()["data"] == []
    (d,) = api.get("manager", URL, transfer=short).json()["data"]  # manager reads transfers
    assert d["created_by"] == "warehouse" and d["item"] == str(s["item"])
    page1 = api.get("admin", URL, limit=1).json()
    assert len(page1["data"]) == 1 and page1["next_cursor"] == str(d["id"])
    page2 = api.get("admin", URL, limit=1, cursor=page1["next_cursor"]).json()
    assert [x["transfer"]["id"] for x in page2["data"]] == [str(over)] and page2["next_cursor"] is None
    problem(api.get("sales", URL), 404)  # sales has no right on stock_transfer at all

    resolve = f"{URL}/{d['id']}/resolve"
    problem(api.post("manager", resolve, {"reason": "lost"}), 403)  # read-only on transfers
    problem(api.post("warehouse", resolve, {"reason": "  "}), 422, "reason")
    problem(api.post("warehouse", resolve, {"reason": "x", "book": "4"}), 422, "book")  # only 3 are missing
    problem(api.post("warehouse", resolve, {"reason": "x", "book": "abc"}), 422, "book")
    problem(api.post("warehouse", resolve, {"reason": "x", "book": "0.00001"}), 422, "book")
    problem(api.post("warehouse", resolve, {"reason": "x", "oops": 1}), 422, "oops")
    assert _on_hand(api, s, s["b"]) == "16.0000"  # 7 + 5 + 4: the surplus waits, refusals booked nothing
    r = api.post("warehouse", resolve, {"reason": "found 1 behind the pallet", "book": "1"})
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["state"], done["booked"], done["resolved_by"], done["resolution"]) == (
        "resolved", "1.0000", "warehouse", "found 1 behind the pallet")
    assert _on_hand(api, s, s["b"]) == "17.0000"
    problem(api.post("warehouse", resolve, {"reason": "again"}), 409)
    assert [x["id"] for x in api.get("admin", URL, state="resolved").json()["data"]] == [d["id"]]
    assert [x["transfer"]["id"] for x in api.get("admin", URL, state="open").json()["data"]] == [str(over)]


def test_bad_input_and_other_apps_ids(api: Client) -> None:
    s = _setup(api)
    short = _transfer(api, s, "10", "9")
    (d,) = api.get("admin", URL).json()["data"]
    problem(api.get("admin", URL, state="lost"), 422, "state")
    problem(api.get("admin", URL, transfer="abc"), 422, "transfer")
    problem(api.get("admin", URL, cursor="x"), 422, "cursor")
    problem(api.get("admin", URL, limit=0), 422, "limit")
    problem(api.get("admin", URL, warehouse=1), 422, "warehouse")
    problem(api.get("admin", URL, entity="nothing"), 404)
    problem(api.get("admin", URL, transfer=short + 1000), 404)
    problem(api.get("admin", "/api/apps/standard/ledgers/money/discrepancies"), 404)
    problem(api.post("admin", f"{URL}/abc/resolve", {"reason": "x"}), 404)
    problem(api.post("admin", f"{URL}/{d['id']}/resolve", None, content=b"{no", headers={
        "Content-Type": "application/json"}), 400)
    # The same ids under another app are not found there, and nothing there changes.
    other = f"/api/apps/{OTHER}/ledgers/stock/discrepancies"
    problem(api.get("admin", other, transfer=short), 404)
    assert api.get("admin", other).json()["data"] == []
    problem(api.post("admin", f"{other}/{d['id']}/resolve", {"reason": "x"}), 404)
    assert api.get("admin", URL, state="open").json()["data"][0]["id"] == d["id"]
    for r in (api.client.get(URL), api.client.post(f"{URL}/{d['id']}/resolve", json={"reason": "x"})):
        problem(r, 401)
