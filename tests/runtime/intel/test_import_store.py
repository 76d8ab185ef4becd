"""Import previews kept in the database (``import_store``), so ``jimu serve --workers N`` can
answer the import on another worker than the preview: two app instances, each with its own
``Jimu`` (own engine, own process state) on one database, SQLite and PostgreSQL.

Mutations tried (each made a test here fail):
- previews back in a process dict (``save_preview``/``load_preview`` on a module-level
  dict keyed by id): ``test_preview_from_one_instance_imports_on_another`` (404
  ``import.preview_not_found`` on the second instance);
- ``load_preview`` without ``username == ...``: ``test_another_user_gets_404_on_any_instance``
  (200, the other user imported the file);
- ``load_preview`` without the expiry condition: ``test_expired_preview_is_404_and_swept``
  (200 after 31 minutes);
- ``save_preview`` without ``sweep_previews``: the same test (the expired row still there);
- cells stored as plain JSON (``default=str``): ``test_cells_keep_their_types``
  (a Decimal comes back as str)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from jimu.core import clock as clock_mod
from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.runtime.intel.import_store import MAX_PER_USER, decode, encode, import_previews
from tests.runtime.api.test_routes_import import APP, CSV, ITEM, MAPPING, ROLES, USERS, WAREHOUSE, Api


@pytest.fixture
def two(db_url: str) -> Iterator[tuple[Api, Api]]:
    """Two app instances on one database, as two workers of ``jimu serve`` would be."""
    first = Jimu.open(db_url)
    first.store.create_app(APP, {"zh": "仓库", "en": "Depot"})
    first.store.put_element(APP, "entity", "warehouse", WAREHOUSE)
    first.store.put_element(APP, "entity", "item", ITEM)
    for role in ROLES:
        first.store.put_element(APP, "role", role["name"], role)
    first.store.publish(APP)
    for user, roles in USERS.items():
        first.users.create(user, user, roles)
    for name, city in (("主仓", "杭州"), ("二仓", "宁波")):
        first.records.create(APP, "warehouse", {"name": name, "city": city})
    second = Jimu.open(db_url)
    assert second.db.engine is not first.db.engine
    with TestClient(create_app(first)) as a, TestClient(create_app(second)) as b:
        yield Api(a, first), Api(b, second)
    second.close()
    first.close()


def _rows(api: Api) -> int:
    with api.jimu.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(import_previews)).scalar_one())


def test_preview_from_one_instance_imports_on_another(two: tuple[Api, Api]) -> None:
    a, b = two
    r = a.preview("admin", CSV)
    assert r.status_code == 200, r.text
    r = b.run("admin", {"preview_id": r.json()["preview_id"], "entity": "item", "mapping": MAPPING})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 4
    items = {i["sku"]: i for i in a.items()}
    assert items["A004"]["unit_price"] == Decimal("1280.50") and items["A002"]["made_on"] == date(2026, 3, 2)


def test_another_user_gets_404_on_any_instance(two: tuple[Api, Api]) -> None:
    a, b = two
    pid = a.preview("clerk", CSV).json()["preview_id"]
    for api in (a, b):
        r = api.run("clerk2", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
        assert r.status_code == 404 and r.json()["code"] == "import.preview_not_found", r.text
    assert a.items() == []
    mine = {k: v for k, v in MAPPING.items() if v != "warehouse"}  # the clerk sees one warehouse only
    r = b.run("clerk", {"preview_id": pid, "entity": "item", "mapping": mine})
    assert r.status_code == 200 and r.json()["created"] == 4, r.text


def test_expired_preview_is_404_and_swept(two: tuple[Api, Api], manual_clock: clock_mod.ManualClock) -> None:
    a, b = two
    pid = a.preview("admin", CSV).json()["preview_id"]
    manual_clock.advance(timedelta(minutes=31))
    r = b.run("admin", {"preview_id": pid, "entity": "item", "mapping": MAPPING})
    assert r.status_code == 404 and r.json()["code"] == "import.preview_not_found", r.text
    assert _rows(a) == 1
    b.preview("keeper", CSV)  # any new preview sweeps the expired ones
    with a.jimu.db.read() as conn:
        assert conn.execute(sa.select(import_previews.c.id)).scalars().all() != [pid]
    assert _rows(a) == 1


def test_a_user_keeps_at_most_the_newest_previews(two: tuple[Api, Api], manual_clock: clock_mod.ManualClock) -> None:
    a, b = two
    ids = []
    for i in range(MAX_PER_USER + 2):
        manual_clock.advance(timedelta(seconds=1))
        ids.append((a if i % 2 else b).preview("admin", CSV).json()["preview_id"])
    a.preview("keeper", CSV)
    assert _rows(a) == MAX_PER_USER + 1
    r = a.run("admin", {"preview_id": ids[0], "entity": "item", "mapping": MAPPING})
    assert r.status_code == 404, r.text
    r = b.run("admin", {"preview_id": ids[-1], "entity": "item", "mapping": MAPPING})
    assert r.status_code == 200, r.text


def test_cells_keep_their_types() -> None:
    cells = ["蓝莓", 3, 2.5, Decimal("1280.50"), date(2026, 3, 1), datetime(2026, 3, 1, 8, 30), time(9, 15),
             timedelta(hours=2), True, None, '{"$n": "1"}']
    back = decode(encode({"rows": [cells]}))["rows"][0]
    assert back == cells and [type(v) for v in back] == [type(v) for v in cells]
