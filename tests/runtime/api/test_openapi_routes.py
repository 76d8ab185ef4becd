"""Every route of the app is either in the admin's OpenAPI document of the standard
template or listed here as internal, with the reason (issue 23): a new API route nobody
documented fails this test, and so does an internal entry that no longer matches a route
or a route that is listed as internal and documented at once."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from jimu.runtime.api.app import create_app
from jimu.runtime.context import Jimu
from jimu.templates_market.installer import install_cbu, install_template

APP = "standard"

# (path prefix or exact path, methods or None for all) -> why it is not in the per-app document.
SCREENS = "HTML screens for people (forms, sessions, CSRF), not an integration API"
DESIGNER = "the designer's own API and pages (app definitions are edited there, DESIGN 9)"
MARKET = "the template market's pages and install API (platform level, not one app's data)"
INTERNAL: list[tuple[str, bool, frozenset[str] | None, str]] = [
    # (path, is_prefix, methods, reason)
    ("/api/auth/session", False, None, "the screens' cookie login; integrations use a token or an API key"),
    ("/api/users", True, None, "platform user administration (all apps), not one app's API"),
    ("/api/apps", False, frozenset({"POST"}), "creating apps is platform administration"),
    ("/api/apps/{app}/meta", True, None, DESIGNER),
    ("/api/apps/{app}/publish", False, None, DESIGNER),
    ("/api/apps/{app}/rollback", False, None, DESIGNER),
    ("/api/apps/{app}/designer/", True, None, DESIGNER),
    ("/api/designer/", True, None, DESIGNER),
    ("/designer", True, None, DESIGNER),
    ("/api/admin/clock", False, None, "the test clock, answered only under JIMU_TEST_CLOCK"),
    ("/api/market/", True, None, MARKET),
    ("/api/apps/{app}/install", False, None, MARKET),
    ("/api/apps/{app}/cbus", False, None, MARKET),
    ("/market", True, None, MARKET),
    ("/static/jimu", True, None, "static files of the screens"),
    ("/", False, None, SCREENS),
    ("/login", False, None, SCREENS),
    ("/logout", False, None, SCREENS),
    ("/lang/{code}", False, None, SCREENS),
    ("/apps", False, None, SCREENS),
    ("/app/{app}/", True, None, SCREENS),
]


def _internal(path: str, method: str) -> tuple[str, bool, frozenset[str] | None, str] | None:
    for entry in INTERNAL:
        where, prefix, methods, _ = entry
        if (path.startswith(where) if prefix else path == where) and (methods is None or method in methods):
            return entry
    return None


def _endpoints(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield route.path, method
        elif isinstance(route, Mount):
            yield route.path, "GET"


def _pattern(path: str) -> re.Pattern[str]:
    """A route template as a regex over the document's paths: ``{app}`` is the app, any
    other parameter matches one segment (a concrete entity, transition or ``{id}``)."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part == "{app}":
            out += re.escape(APP)
        elif part.startswith("{"):
            out += "[^/]+"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


@pytest.fixture(scope="module")
def admin_doc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, list[BaseRoute]]]:
    jimu = Jimu.open(f"sqlite:///{tmp_path_factory.mktemp('routes') / 'jimu.db'}")
    install_template(jimu, APP, "standard", sample_data=False)
    # The no_stock template's trading unit too: its reports are documented for apps that have it.
    install_cbu(jimu, APP, "contract", sample_data=False)
    # The discrete template's MRP unit too: the planner's grid and exception reports.
    install_cbu(jimu, APP, "mrp", sample_data=False)
    jimu.users.create("admin", "admin", ["admin"])
    app = create_app(jimu)
    with TestClient(app) as client:
        token = client.post("/api/auth/token", json={"username": "admin", "password": "admin"}).json()["access_token"]
        doc = client.get(f"/api/apps/{APP}/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    yield doc, list(app.routes)
    jimu.close()


def test_every_route_is_documented_or_internal(admin_doc) -> None:
    """Mutation: ``add_caller_routes`` not called -> the inbox, events, export and app-list
    routes are neither documented nor internal; an INTERNAL entry for ``/api/apps/{app}/inbox``
    -> documented and internal at once."""
    doc, routes = admin_doc
    validate(doc)
    documented = [(p, m.upper()) for p, ops in doc["paths"].items() for m in ops]
    missing, both, used = [], [], set()
    for path, method in _endpoints(routes):
        pattern = _pattern(path)
        in_doc = any(m == method and pattern.match(p) for p, m in documented)
        entry = _internal(path, method)
        if entry is not None:
            used.add(entry[0])
        if in_doc and entry is not None:
            both.append((method, path))
        elif not in_doc and entry is None:
            missing.append((method, path))
    assert not missing, f"routes neither in the admin document nor internal: {missing}"
    assert not both, f"routes documented and listed as internal: {both}"
    assert used == {e[0] for e in INTERNAL}, f"stale INTERNAL entries: {({e[0] for e in INTERNAL}) - used}"


def test_operation_ids_and_names_are_ascii(admin_doc) -> None:
    """Generated clients name modules after operationIds and schemas: all present, unique,
    ASCII identifiers; no schema carries a (Chinese) ``title``; every array has ``items``.
    Mutation: field labels put back in ``title`` (``field_schema``) -> a non-ASCII title."""
    doc, _ = admin_doc
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) for name in doc["components"]["schemas"])
    assert doc["info"]["title"].isascii()

    def walk(node: object, where: str) -> Iterator[str]:
        if isinstance(node, dict):
            if "title" in node and isinstance(node["title"], str) and not node["title"].isascii():
                yield f"{where}: title {node['title']}"
            if node.get("type") == "array" or (isinstance(node.get("type"), list) and "array" in node["type"]):
                if "items" not in node:
                    yield f"{where}: array without items"
            for k, v in node.items():
                yield from walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{where}/{i}")

    problems = list(walk(doc["components"], "components")) + list(walk(doc["paths"], "paths"))
    assert not problems, problems
    sales_order = doc["components"]["schemas"]["SalesOrder"]
    assert sales_order["description"] and not sales_order["description"].isascii()  # the label, in description
