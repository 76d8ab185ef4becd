"""A 50,000-row XLSX import (issue 22's proof): mixed types (text, money, decimal, date
cells and date text, phone, choice by label, link by warehouse name) with 1 % bad rows.
All or nothing: the import answers 422 with exactly the 500 bad rows, each with its field,
and writes nothing; the same file with the bad cells fixed imports all 50,000 rows.
SQLite and PostgreSQL.

Mutation tried: capping the report (``MAX_REPORTED = 200``, what the bulk path itself
reports) fails ``test_fifty_thousand_rows_all_or_nothing`` (200 rows reported of 500)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from tests.runtime.api.test_routes_import import APP, ITEM, WAREHOUSE

N = 50_000
HEADERS = ["商品编码", "商品名称", "单价", "数量", "生产日期", "联系电话", "类型", "仓库"]
MAPPING = {"shang_pin_bian_ma": "sku", "shang_pin_ming_cheng": "name", "dan_jia": "unit_price", "shu_liang": "qty",
           "sheng_chan_ri_qi": "made_on", "lian_xi_dian_hua": "phone", "lei_xing": "kind", "cang_ku": "warehouse"}
# the bad cell of bad row k (k = 0..499), by k % 5: (column index, bad value, field)
BAD_CELLS = [(2, "面议", "unit_price"), (4, "2026-02-30", "made_on"), (7, "无此仓", "warehouse"),
             (3, "三箱", "qty"), (6, "赠品", "kind")]


def is_bad(i: int) -> bool:
    return i % 100 == 37


def row(i: int, *, bad: bool) -> list[Any]:
    day = date(2026, 1, 1) + timedelta(days=i % 365)
    cells: list[Any] = [f"S{i:06d}", f"商品{i}", Decimal(i % 1000) / 4, i % 7 + Decimal("0.5"),
                        day if i % 2 else day.strftime("%Y/%m/%d"), f"138{i:08d}", "商品" if i % 3 else "服务",
                        "主仓" if i % 2 else "二仓"]
    if bad and is_bad(i):
        col, value, _field = BAD_CELLS[(i // 100) % 5]
        cells[col] = value
    return cells


def xlsx(*, bad: bool) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for i in range(N):
        r = row(i, bad=bad)
        ws.append([float(c) if isinstance(c, Decimal) else c for c in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def client(db_url: str) -> Iterator[tuple[TestClient, Jimu, dict[str, str]]]:
    jimu = Jimu.open(db_url)
    jimu.store.create_app(APP, {"zh": "仓库", "en": "Depot"})
    jimu.store.put_element(APP, "entity", "warehouse", WAREHOUSE)
    jimu.store.put_element(APP, "entity", "item", ITEM)
    jimu.store.publish(APP)
    jimu.users.create("admin", "admin", ["admin"])
    for name in ("主仓", "二仓"):
        jimu.records.create(APP, "warehouse", {"name": name})
    with TestClient(create_app(jimu)) as c:
        token = c.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
        yield c, jimu, {"Authorization": f"Bearer {token}"}
    jimu.close()


def upload(c: TestClient, h: dict[str, str], data: bytes) -> str:
    r = c.post(f"/api/apps/{APP}/import/preview", headers=h,
               files={"file": ("items.xlsx", io.BytesIO(data), "application/vnd.openxmlformats-officedocument."
                                                              "spreadsheetml.sheet")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == N
    return str(body["preview_id"])


def count(jimu: Jimu) -> int:
    import sqlalchemy as sa

    t = jimu.apps.get(APP).tables("item")
    with jimu.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)


def test_fifty_thousand_rows_all_or_nothing(client: tuple[TestClient, Jimu, dict[str, str]]) -> None:
    c, jimu, h = client
    pid = upload(c, h, xlsx(bad=True))
    r = c.post(f"/api/apps/{APP}/import", headers=h, json={"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 422, r.text[:500]
    body = r.json()
    expected = sorted((i + 2, BAD_CELLS[(i // 100) % 5][2]) for i in range(N) if is_bad(i))
    assert len(expected) == 500
    assert sorted((e["row"], e["field"]) for e in body["errors"]) == expected
    assert body["bad_rows"] == 500 and body["created"] == 0
    assert count(jimu) == 0
    pid = upload(c, h, xlsx(bad=False))
    r = c.post(f"/api/apps/{APP}/import", headers=h, json={"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 200, r.text[:500]
    assert r.json() == {"created": N, "updated": 0, "errors": []}
    assert count(jimu) == N
    last = jimu.records.list(APP, "item", sort="-sku", limit=1).data[0]
    # row 49999: 999/4 = 249.75, 49999 % 7 + 0.5 = 5.5, odd → a date cell 2026-01-01 + 359 days
    assert (last["sku"], last["unit_price"], last["qty"], last["made_on"]) == (
        "S049999", Decimal("249.75"), Decimal("5.5"), date(2026, 12, 26))
