"""A pytest plugin for CBU authors: ``pytest -p jimu.testing``.

Fixtures:

* ``jimu_db_url`` — a fresh SQLite database URL in the test's tmp dir.
* ``jimu_instance`` — a :class:`~jimu.runtime.context.Jimu` on that database.
* ``jimu_app`` — a factory: ``jimu_app("stock", params={...}, sample_data=False,
  cbu_paths=[folder])`` installs the unit (and what it depends on) into a new app and
  returns an :class:`InstalledApp` (``.jimu``, ``.name``, ``.spec``, ``.records``).

Helper: :func:`form_login` signs a test client in through a login form.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["InstalledApp", "jimu_db_url", "jimu_instance", "jimu_app", "form_login"]

_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def form_login(client: Any, username: str, password: str | None = None, *, path: str = "/login",
               **data: str) -> Any:
    """Log ``client`` (a Starlette TestClient or httpx client keeping cookies) in through
    the login form at ``path`` (``/login`` or ``/designer/login``) as a browser does: read
    the form (its pre-session cookie and CSRF token), then post it. Returns the POST's
    response (303 on success). ``password`` defaults to the user name (the demo users)."""
    page = client.get(path)
    found = _TOKEN.search(page.text)
    token = html.unescape(found.group(1)) if found else ""
    return client.post(path, data={"username": username, "password": password if password is not None else username,
                                   "csrf_token": token, **data})


@dataclass
class InstalledApp:
    jimu: Any
    name: str
    result: Any

    @property
    def spec(self) -> Any:
        return self.jimu.apps.get(self.name).spec

    @property
    def records(self) -> Any:
        return self.jimu.records


@pytest.fixture
def jimu_db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jimu-cbu.db'}"


@pytest.fixture
def jimu_instance(jimu_db_url: str) -> Iterator[Any]:
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(jimu_db_url)
    yield jimu
    jimu.close()


@pytest.fixture
def jimu_app(jimu_instance: Any) -> Any:
    """Install a CBU into a fresh app: ``jimu_app("sales_order", params={"approvals": False})``."""
    from jimu.templates_market.installer import install_cbu

    counter = {"n": 0}

    def make(cbu: str, *, params: dict[str, Any] | None = None, sample_data: bool = False,
             version: str | None = None, cbu_paths: list[Any] | None = None, app: str | None = None) -> InstalledApp:
        if cbu_paths:
            jimu_instance.settings["cbu_paths"] = [str(p) for p in cbu_paths]
        counter["n"] += 1
        name = app or f"t_{cbu}_{counter['n']}"
        result = install_cbu(jimu_instance, name, cbu, params, version=version, sample_data=sample_data)
        return InstalledApp(jimu_instance, name, result)

    return make
