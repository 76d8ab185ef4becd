"""The shop app of the API tests (sales: cost_price masked, rows owner == $user;
warehouse: cost_price hidden) served by a TestClient."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("_api_conftest", Path(__file__).parents[1] / "api" / "conftest.py")
assert _spec and _spec.loader
api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_conftest)
build_shop = api_conftest.build_shop
Api = api_conftest.Api


@pytest.fixture
def jimu(db_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Jimu on the test's database: bootstrapped, and (when the test uses ``api``) holding
    the shop of ``build_shop``, built once per worker and copied (tests.dbcache)."""
    from tests.dbcache import open_for

    yield from open_for(request, db_url, {"api": (api, build_shop)})


@pytest.fixture
def api(jimu: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from jimu.runtime.api.app import create_app
    from tests.dbcache import built

    with TestClient(create_app(jimu), raise_server_exceptions=False) as client:
        yield Api(client, jimu, built(jimu))
