"""A small shop app served by the Starlette TestClient, with three roles:

* admin (implicit: the app defines no admin role),
* sales: item create/read/update/export, rows ``owner == $user``, cost_price masked
  ``ROUND_TO(cost_price, 1000)``,
* warehouse: item read/update, cost_price hidden, sale_price read-only, no export.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.platform.actor import Actor
from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu

ITEM = {"name": "item", "label": {"zh": "物料", "en": "Item"}, "fields": [
    {"name": "sku", "type": "text", "required": True, "unique": True},
    {"name": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
    {"name": "cost_price", "type": "money"},
    {"name": "sale_price", "type": "money"},
    {"name": "qty", "type": "integer"},
    {"name": "owner", "type": "text", "default": "$user", "indexed": True},
    {"name": "kind", "type": "choice", "options": {"choices": [{"value": "raw", "label": "原料"},
                                                                {"value": "goods", "label": "成品"}]}},
    {"name": "supplier", "type": "link", "options": {"entity": "supplier"}},
]}
SUPPLIER = {"name": "supplier", "fields": [{"name": "name", "type": "text", "required": True},
                                           {"name": "phone", "type": "text"}]}
SALES = {"name": "sales", "entities": {
    "item": {"create": True, "read": True, "update": True, "export": True, "row_filter": "owner == $user",
             "fields": {"cost_price": {"mask": "ROUND_TO(cost_price, 1000)"}}},
    "supplier": {"read": True, "fields": {"phone": "hidden"}}}}
WAREHOUSE = {"name": "warehouse", "entities": {
    "item": {"read": True, "update": True, "fields": {"cost_price": "hidden", "sale_price": "read",
                                                      "sku": "read", "owner": "read"}}}}
PASSWORDS = {"admin": "admin", "sales": "sales", "sales2": "sales2", "warehouse": "warehouse", "nobody": "nobody"}


def build_shop(jimu: Jimu) -> dict[str, Any]:
    """Create, publish and fill the shop app; returns ids of the sample rows."""
    jimu.store.create_app("shop", {"zh": "小店", "en": "Shop"})
    jimu.store.put_element("shop", "entity", "supplier", SUPPLIER)
    jimu.store.put_element("shop", "entity", "item", ITEM)
    jimu.store.put_element("shop", "role", "sales", SALES)
    jimu.store.put_element("shop", "role", "warehouse", WAREHOUSE)
    jimu.store.publish("shop")
    jimu.users.create("admin", "admin", ["admin"])
    jimu.users.create("sales", "sales", ["sales"])
    jimu.users.create("sales2", "sales2", ["sales"])
    jimu.users.create("warehouse", "warehouse", ["warehouse"])
    jimu.users.create("nobody", "nobody", [])
    sup = jimu.records.create("shop", "supplier", {"name": "Acme", "phone": "123"})
    ids = {"supplier": sup["id"], "items": {}}
    rows = [("A-1", "Bolt", "12345.50", "20000", "sales"), ("A-2", "Nut", "800.00", "1500", "sales"),
            ("B-1", "Gear", "56789.00", "70000", "sales2")]
    for sku, name, cost, sale, owner in rows:
        rec = jimu.records.create("shop", "item", {"sku": sku, "name": name, "cost_price": cost, "sale_price": sale,
                                                   "owner": owner, "qty": 5, "kind": "raw", "supplier": sup["id"]},
                                  actor=Actor(owner, ("sales",)))
        ids["items"][sku] = rec["id"]
    return ids


class Api:
    """A TestClient plus a token per demo user."""

    def __init__(self, client: TestClient, jimu: Jimu, ids: dict[str, Any]) -> None:
        self.client = client
        self.jimu = jimu
        self.ids = ids
        self._tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self._tokens:
            r = self.client.post("/api/auth/token", json={"username": user, "password": PASSWORDS[user]})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return self._tokens[user]

    def h(self, user: str | None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        return headers

    def get(self, user: str | None, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.h(user, **kw.pop("headers", {})), **kw)

    def post(self, user: str | None, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.h(user, **kw.pop("headers", {})), **kw)

    def patch(self, user: str | None, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.h(user, **kw.pop("headers", {})), **kw)

    def put(self, user: str | None, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.h(user, **kw.pop("headers", {})), **kw)

    def delete(self, user: str | None, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.h(user, **kw.pop("headers", {})), **kw)


@pytest.fixture
def jimu(db_url: str, request: pytest.FixtureRequest) -> Iterator[Jimu]:
    """A Jimu on the test's database: bootstrapped, and (when the test uses ``api``) holding
    the shop of :func:`build_shop`, built once per worker and copied (tests.dbcache)."""
    from tests.dbcache import open_for

    yield from open_for(request, db_url, {"api": (api, build_shop)})


@pytest.fixture
def api(jimu: Jimu) -> Iterator[Api]:
    from tests.dbcache import built

    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Api(client, jimu, built(jimu))


@pytest.fixture
def sqlite_api(make_db_url: Any) -> Iterator[Api]:
    """The shop on SQLite only (for slower or backend-neutral tests): a copy (tests.dbcache)."""
    from tests.dbcache import open_built

    j, ids = open_built(make_db_url("sqlite"), "api:build_shop", build_shop)
    with TestClient(create_app(j), raise_server_exceptions=False) as client:
        yield Api(client, j, ids)
    j.close()


TEMPLATES = ("standard", "general", "food", "catering", "discrete_manufacturing", "no_stock")


class TemplateApps:
    """Every template installed as an app of its own name (no sample data: a document
    depends on the spec and the caller, not on the rows) with the demo users, served by
    one TestClient; ``doc(template, user)`` is that user's OpenAPI document, fetched once."""

    def __init__(self, jimu: Jimu, app: Any, client: TestClient) -> None:
        self.jimu, self.app, self.client = jimu, app, client
        self._tokens: dict[str, str] = {}
        self._docs: dict[tuple[str, str], dict[str, Any]] = {}

    def h(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            r = self.client.post("/api/auth/token", json={"username": user, "password": user})
            assert r.status_code == 200, r.text
            self._tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    def doc(self, template: str, user: str) -> dict[str, Any]:
        if (template, user) not in self._docs:
            r = self.client.get(f"/api/apps/{template}/openapi.json", headers=self.h(user))
            assert r.status_code == 200, r.text
            self._docs[template, user] = r.json()
        return self._docs[template, user]


@pytest.fixture(scope="session")
def template_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateApps]:
    """The six templates in one SQLite database, on tmpfs when the machine has one
    (installing six templates on a synced disk takes minutes, in memory seconds)."""
    import shutil
    import tempfile
    from pathlib import Path

    from jimu.cli.basics import ensure_demo_users
    from jimu.templates_market.installer import install_template

    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="jimu-templates-", dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) \
        else tmp_path_factory.mktemp("templates")
    j = Jimu.open(f"sqlite:///{folder / 'jimu.db'}")
    ensure_demo_users(j)
    for template in TEMPLATES:
        install_template(j, template, template, sample_data=False)
    app = create_app(j)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield TemplateApps(j, app, client)
    j.close()
    shutil.rmtree(folder, ignore_errors=True)
