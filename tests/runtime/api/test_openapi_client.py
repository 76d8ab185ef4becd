"""An integrator's whole order through a client generated from the per-caller OpenAPI
document (issue 23): openapi-python-client (pinned in the test extras, offline) generates a
Python package from the ``sales`` and the ``warehouse`` documents of the standard template
once per session; the generated code then logs in, creates a customer and an order with
lines, changes it with If-Match, submits it, reads the reservation from the ledger balances
and cancels it, and a warehouse user ships an order a manager approved.

The requests go through Starlette's TestClient as the generated client's httpx client (the
generated code builds every path, header and body; no server process needed). The order
flows run on SQLite, and on PostgreSQL too when ``JIMU_TEST_PG_URL`` is set."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from jimu.platform.db import make_engine
from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.templates_market.installer import install_template
from tests.conftest import BACKENDS, PG_URL, pg_schema_url

APP = "standard"
USERS = ("admin", "manager", "sales", "warehouse")


class Generated:
    """One generated client package and a way to call its operations as a user."""

    def __init__(self, package: str, test_client: TestClient, token: str) -> None:
        self.package = package
        client_mod = importlib.import_module(f"{package}.client")
        self.client = client_mod.AuthenticatedClient(base_url="http://testserver", token=token)
        # The generated code builds the request; the TestClient carries it to the app.
        test_client.headers["Authorization"] = f"Bearer {token}"
        self.client.set_httpx_client(test_client)

    def op(self, tag: str, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.api.{tag}.{name}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.package}.models"), name)


def _generate(doc: dict[str, Any], package: str, out: Path) -> None:
    """Run openapi-python-client on ``doc``; any generator warning fails (a lost response
    type, an array without items, an unsupported schema)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "doc.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (out / "config.json").write_text(json.dumps({"post_hooks": [], "package_name_override": package,
                                                 "project_name_override": package}), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "openapi_python_client", "generate", "--path", "doc.json",
                          "--meta", "none", "--config", "config.json", "--output-path", package],
                         cwd=out, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr


def _open_standard(folder: Path, backend: str) -> tuple[Jimu, str | None]:
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'jimu.db'}"
    else:
        schema = "oa_" + uuid.uuid4().hex[:10]
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = pg_schema_url(schema)
    jimu = Jimu.open(url)
    install_template(jimu, APP, "standard", sample_data=False)
    for user in USERS:
        jimu.users.create(user, user, [user], manager="manager" if user == "sales" else None)
    return jimu, schema


@pytest.fixture(scope="session", params=BACKENDS)
def standard(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Jimu, TestClient]]:
    """The standard template with its demo roles, on SQLite (and PostgreSQL when configured)."""
    jimu, schema = _open_standard(tmp_path_factory.mktemp("openapi-client"), request.param)
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield jimu, client
    jimu.close()
    if schema:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``sales`` and ``warehouse`` documents (from a SQLite copy: the document depends on
    the app's spec, not the database) as two generated packages on sys.path, generated once."""
    jimu, _ = _open_standard(tmp_path_factory.mktemp("openapi-docs"), "sqlite")
    root = tmp_path_factory.mktemp("generated")
    with TestClient(create_app(jimu)) as client:
        for user in ("sales", "warehouse"):
            token = client.post("/api/auth/token", json={"username": user, "password": user}).json()["access_token"]
            doc = client.get(f"/api/apps/{APP}/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
            _generate(doc, f"jimu_{user}_client", root)
    jimu.close()
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m.startswith(("jimu_sales_client", "jimu_warehouse_client"))]:
        del sys.modules[name]


def _login(standard: tuple[Jimu, TestClient], user: str) -> Generated:
    """Log in with the generated ``create_token`` (no credentials), then a client with the token."""
    jimu, _ = standard
    package = f"jimu_{user}_client"
    anonymous = importlib.import_module(f"{package}.client").Client(base_url="http://testserver")
    http = TestClient(create_app(jimu), raise_server_exceptions=False)
    anonymous.set_httpx_client(http)
    create_token = importlib.import_module(f"{package}.api.auth.create_token")
    token_request = importlib.import_module(f"{package}.models").TokenRequest
    token = create_token.sync(client=anonymous, body=token_request(username=user, password=user))
    assert token is not None and token.token_type == "bearer", token
    return Generated(package, TestClient(create_app(jimu), raise_server_exceptions=False), token.access_token)


def _raw(standard: tuple[Jimu, TestClient], user: str, method: str, url: str, body: Any = None) -> Any:
    """Set-up steps outside the caller's document (the admin's item and stock, the manager's approval)."""
    _, client = standard
    token = client.post("/api/auth/token", json={"username": user, "password": user}).json()["access_token"]
    r = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _stocked_item(standard: tuple[Jimu, TestClient], qty: str) -> tuple[int, dict[str, Any]]:
    item = _raw(standard, "admin", "POST", f"/api/apps/{APP}/data/item",
                {"sku": "OA-" + uuid.uuid4().hex[:8], "name": "接口测试商品", "unit": "个", "sale_price": "10.00"})
    wh = _raw(standard, "admin", "POST", f"/api/apps/{APP}/data/warehouse",
              {"code": "W" + uuid.uuid4().hex[:6], "name": "接口仓 " + uuid.uuid4().hex[:6], "confirm_code": "OK-1"})
    _raw(standard, "warehouse", "POST", f"/api/apps/{APP}/data/stock_adjustment",
         {"item": item["id"], "warehouse": wh["id"], "qty": qty, "reason": "opening"})
    return item["id"], wh


def _order(sales: Generated, item: int, warehouse: int, qty: str) -> Any:
    """A customer and an order with one line, created through the generated client."""
    customer = sales.op("customer", "create_customer").sync(
        client=sales.client, body=sales.model("CustomerInput")(name="接口客户 " + uuid.uuid4().hex[:6],
                                                               level=sales.model("CustomerLevel")("vip")))
    assert customer is not None and customer.id > 0, customer
    line = sales.model("SalesOrderLineInput")(item=item, qty=qty, price="30.00")
    created = sales.op("sales_order", "create_sales_order").sync_detailed(
        client=sales.client, body=sales.model("SalesOrderInput")(customer=customer.id, warehouse=warehouse,
                                                                 lines=[line]))
    assert created.status_code == 201, created.content
    order = created.parsed
    assert order.state == sales.model("SalesOrderState")("draft") and order.amount == "60.00", order
    assert [(x.item, Decimal(x.qty)) for x in order.lines] == [(item, Decimal(qty))], order.lines
    # If-Match: the ETag read is the version sent back; a stale one is a 409 problem.
    patch = sales.op("sales_order", "update_sales_order")
    body = sales.model("SalesOrderPatch")(note="加急 / rush")
    stale = patch.sync_detailed(client=sales.client, id=order.id, body=body, if_match='"999"')
    assert stale.status_code == 409 and stale.parsed.status == 409, stale.content
    changed = patch.sync_detailed(client=sales.client, id=order.id, body=body, if_match=created.headers["etag"])
    assert changed.status_code == 200 and changed.parsed.note == "加急 / rush", changed.content
    return changed.parsed


def _stock(client: Generated, item: int, warehouse: int) -> Any:
    page = client.op("ledgers", "list_stock_balances").sync(client=client.client, item=item, warehouse=warehouse)
    assert page is not None and len(page.data) == 1, page
    return page.data[0]


def test_generated_client_orders_reserves_and_cancels(standard, generated) -> None:
    """Mutation: the transitions left out of the document (``add_workflow`` not called) ->
    the generated package has no ``fire_sales_order_submit`` module (ImportError); the
    balance rows' ``available`` bucket left out of the schema -> the generated model has
    no ``available`` attribute."""
    item, wh = _stocked_item(standard, "5")
    sales = _login(standard, "sales")
    me = sales.op("auth", "get_me").sync(client=sales.client)
    assert me.username == "sales" and me.roles == ["sales"]
    assert "confirm_code" not in sales.model("Warehouse").__annotations__  # hidden from the sales role
    order = _order(sales, item, wh["id"], "2")
    submitted = sales.op("sales_order", "fire_sales_order_submit").sync_detailed(client=sales.client, id=order.id)
    assert submitted.status_code == 200, submitted.content
    assert submitted.parsed.state.value == "pending_approval"
    bal = _stock(sales, item, wh["id"])
    assert (Decimal(bal.reserved), Decimal(bal.available), Decimal(bal.on_hand)) == (2, 3, 5)
    # Firing what the state does not allow: a 409 problem listing what is allowed.
    again = sales.op("sales_order", "fire_sales_order_submit").sync_detailed(client=sales.client, id=order.id)
    assert again.status_code == 409 and again.parsed.code, again.content
    assert "cancel" in json.loads(again.content)["allowed"]
    cancel = sales.op("sales_order", "fire_sales_order_cancel")
    request = sales.model("SalesOrderCancelRequest")(comment="客户取消")
    done = cancel.sync(client=sales.client, id=order.id, body=request)
    assert done.state.value == "cancelled"
    bal = _stock(sales, item, wh["id"])
    assert (Decimal(bal.reserved), Decimal(bal.available)) == (0, 5)
    # Paging: one record a page, following next_cursor to the end.
    listing = sales.op("sales_order", "list_sales_order")
    seen, cursor, pages = {}, None, 0
    while True:
        page = listing.sync(client=sales.client, sort="-id", limit=1, **({"cursor": cursor} if cursor else {}))
        seen.update({o.id: o.state.value for o in page.data})
        pages, cursor = pages + 1, page.next_cursor
        if cursor is None:
            break
    assert seen[order.id] == "cancelled" and pages == len(seen) >= 1


def test_generated_client_warehouse_ships_an_approved_order(standard, generated) -> None:
    """Mutation: ``_may_fire`` ignoring the role grant (every transition for every caller)
    -> the warehouse package has ``fire_sales_order_submit`` and the first assertion
    fails; the ship inputs schema without its fields -> the generated
    ``SalesOrderShipInputs`` rejects ``logistics_no`` (TypeError)."""
    item, wh = _stocked_item(standard, "4")
    order = _order(_login(standard, "sales"), item, wh["id"], "2")
    _raw(standard, "sales", "POST", f"/api/apps/{APP}/data/sales_order/{order.id}/transitions/submit", {})
    _raw(standard, "manager", "POST", f"/api/apps/{APP}/data/sales_order/{order.id}/transitions/approve", {})
    house = _login(standard, "warehouse")
    with pytest.raises(ImportError):
        house.op("sales_order", "fire_sales_order_submit")
    ship = house.op("sales_order", "fire_sales_order_ship")
    inputs = house.model("SalesOrderShipInputs")
    wrong = ship.sync_detailed(client=house.client, id=order.id, body=house.model("SalesOrderShipRequest")(
        inputs=inputs(warehouse_confirm_code="nope", logistics_no="SF1")))
    assert wrong.status_code == 422, wrong.content
    assert "warehouse_confirm_code" in [e.field for e in wrong.parsed.errors]
    shipped = ship.sync(client=house.client, id=order.id, body=house.model("SalesOrderShipRequest")(
        inputs=inputs(warehouse_confirm_code=wh["confirm_code"], logistics_no="SF123")))
    assert shipped.state.value == "shipped" and shipped.logistics_no == "SF123", shipped
    bal = _stock(house, item, wh["id"])
    assert (Decimal(bal.on_hand), Decimal(bal.reserved)) == (2, 0)
