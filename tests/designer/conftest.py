"""A published 'crm' app with three visits, an admin and a 'sales' user, served by the
Starlette TestClient (SQLite: these tests are about the designer, not the backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu

VISIT = {"name": "visit", "label": {"zh": "客户回访", "en": "Customer visit"}, "fields": [
    {"name": "customer", "type": "text", "label": {"zh": "客户名称", "en": "Customer"}, "required": True},
    {"name": "phone", "type": "phone", "label": {"zh": "客户电话", "en": "Phone"}},
    {"name": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
    {"name": "qty", "type": "integer", "label": {"zh": "数量", "en": "Quantity"}},
    {"name": "code", "type": "text", "label": {"zh": "编码", "en": "Code"}},
]}
SALES = {"name": "sales", "label": {"zh": "销售", "en": "Sales"},
         "entities": {"visit": {"read": True, "create": True, "fields": {"phone": "hidden"}}}}


class Client:
    """TestClient with an admin bearer token."""

    def __init__(self, client: TestClient, jimu: Jimu) -> None:
        self.client, self.jimu = client, jimu
        r = client.post("/api/auth/token", json={"username": "admin", "password": "admin"})
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)


@pytest.fixture
def crm(make_db_url: Any) -> Iterator[Client]:
    jimu = Jimu.open(make_db_url("sqlite"))
    jimu.store.create_app("crm", {"zh": "客户关系", "en": "CRM"})
    jimu.store.put_element("crm", "entity", "visit", VISIT)
    jimu.store.put_element("crm", "role", "sales", SALES)
    jimu.store.publish("crm")
    jimu.users.create("admin", "admin", ["admin"])
    jimu.users.create("sales", "sales", ["sales"])
    for i, (name, amount) in enumerate([("甲公司", "100.50"), ("乙公司", "2000"), ("丙公司", "35")], 1):
        jimu.records.create("crm", "visit", {"customer": name, "phone": f"1380000000{i}", "amount": amount,
                                             "qty": i, "code": f"C-{i}"})
    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Client(client, jimu)
    jimu.close()
