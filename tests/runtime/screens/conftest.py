"""Fixtures for the screen tests: one standard-template database per session (demo users,
sample data and a few seeded records) and logged-in TestClients per role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jimu.testing import form_login
from tests.runtime.screens.seed import build_standard


def make_app(jimu: Any, **settings: Any) -> Any:
    """A Starlette app with the screen routes and the auth/data API (independent of
    route modules other engineers are still building)."""
    from starlette.applications import Starlette

    from jimu.runtime.api import routes_auth, routes_data
    from jimu.runtime.api.errors import exception_handlers
    from jimu.runtime.screens.routes import routes

    app = Starlette(routes=routes() + routes_auth.routes() + routes_data.routes(), exception_handlers=exception_handlers)
    app.state.jimu = jimu
    app.state.settings = settings
    return app


@pytest.fixture(scope="session")
def std(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    jimu = build_standard(f"sqlite:///{tmp_path_factory.mktemp('screens') / 'jimu.db'}")
    yield jimu
    jimu.close()


@pytest.fixture(scope="session")
def std_app(std: Any) -> Any:
    return make_app(std)


@pytest.fixture
def login(std_app: Any) -> Callable[..., Any]:
    """login(user, lang="zh") -> a TestClient with the session and CSRF cookies."""

    def _login(user: str, lang: str = "zh") -> Any:
        return login_client(std_app, user, lang)

    return _login


def login_client(app: Any, user: str, lang: str = "zh") -> Any:
    """A TestClient of ``app`` logged in through the login page (session + CSRF cookies)."""
    from starlette.testclient import TestClient

    client = TestClient(app, follow_redirects=False)
    client.cookies.set("jimu_lang", lang)
    r = form_login(client, user)
    assert r.status_code == 303, r.text[:300]
    return client


def find(std: Any, entity: str, expr: str) -> dict[str, Any]:
    return dict(std.records.list("standard", entity, filter=expr, limit=1).data[0])
