"""A sales user's AccessPolicy on the API tests' shop app (SQLite)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_api_conftest_sbx", Path(__file__).parents[1] / "api" / "conftest.py")
assert _spec and _spec.loader
_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api)


@pytest.fixture
def sqlite_shop_policy(make_db_url):
    from jimu.platform.actor import Actor
    from jimu.runtime.access import AccessPolicy
    from tests.dbcache import open_built

    j, ids = open_built(make_db_url("sqlite"), "api:build_shop", _api.build_shop)
    yield AccessPolicy.for_actor(j, "shop", Actor("sales", ("sales",))), ids["items"]
    j.close()
