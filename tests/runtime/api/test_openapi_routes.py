"""Every route of the app is either in an admin's OpenAPI document or listed here as
internal, with the reason (issue 23): a new API route nobody documented fails this test,
and so does an internal entry that no longer matches a route or a route that is listed as
internal and documented at once. The documents are the admins' of all six templates
(``template_apps``): a route is documented where it means something (the batch trace in
the food and catering apps, the prep suggestion in catering, the trading reports in
no_stock), so the walk takes their union. The walk descends into mounts, so a router
mounted later is walked too; ``test_the_walk_sees_a_new_route`` proves it fails on a route
added without a document.

Also: generated clients name modules after operationIds and schemas, so in every document
of every template and demo role they are present, unique, ASCII identifiers.

Validation cost: ``openapi_spec_validator`` spends ~5 s CPU on one admin document (cProfile:
70 % in checking each of its ~350 schemas against the OAS 3.1 dialect with the pure-Python
``jsonschema``, $dynamicRef lookups). So it validates each template's admin document (the
largest, every route: its semantic checks, e.g. duplicate operationIds and path parameters,
see every operation there), once per distinct document; the role documents are checked
against the OAS 3.1 JSON schema whose Schema Object is the Draft 2020-12 meta-schema,
compiled once with ``jsonschema_rs`` (~5 ms a document), plus every local ``$ref``
resolving and the checks below."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import openapi_spec_validator
import pytest
from openapi_spec_validator import validate
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, Router

from jimu.cli.basics import DEMO_USERS
from tests.runtime.api.conftest import TEMPLATES

# One worker builds the six templates of ``template_apps`` for both files (``--dist loadgroup``
# in pyproject's addopts); without it each xdist worker that draws one of these tests builds them again.
pytestmark = pytest.mark.xdist_group("template_apps")

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


def _endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every route, inside mounts too (a mount of files is one GET)."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield prefix + route.path, method
        elif isinstance(route, Mount):
            if route.routes:
                yield from _endpoints(list(route.routes), prefix + route.path)
            else:
                yield prefix + route.path, "GET"
        else:
            raise AssertionError(f"a route of a kind the walk does not know: {route!r}")


def _pattern(path: str) -> re.Pattern[str]:
    """A route template as a regex over the documents' paths: ``{app}`` is one of the
    template apps, any other parameter matches one segment (a concrete entity, transition
    or ``{id}``)."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part == "{app}":
            out += "(" + "|".join(map(re.escape, TEMPLATES)) + ")"
        elif part.startswith("{"):
            out += "[^/]+"
        else:
            out += re.escape(part)
    return re.compile(out + "$")


def _unaccounted(documented: list[tuple[str, str]], routes: list[BaseRoute]) -> dict[str, Any]:
    """The routes neither documented nor internal, those both, and the INTERNAL entries used."""
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
    return {"missing": missing, "both": both, "used": used}


@pytest.fixture(scope="module")
def admin_docs(template_apps: Any) -> tuple[list[tuple[str, str]], list[BaseRoute]]:
    """(path, METHOD) documented for the admin of any template, and the app's routes."""
    documented = []
    for template in TEMPLATES:
        doc = template_apps.doc(template, "admin")  # validated in test_operation_ids_and_names_are_ascii
        documented += [(p, m.upper()) for p, ops in doc["paths"].items() for m in ops]
    return documented, list(template_apps.app.routes)


def test_every_route_is_documented_or_internal(admin_docs) -> None:
    """Mutation: ``add_caller_routes`` not called -> the inbox, events, export and app-list
    routes are neither documented nor internal; an INTERNAL entry for ``/api/apps/{app}/inbox``
    -> documented and internal at once; ``add_trace`` not called -> the trace and recall
    routes are missing (the walk over the admin documents of all six templates)."""
    documented, routes = admin_docs
    assert len(list(_endpoints(routes))) > 130  # the whole app, not a part of it
    found = _unaccounted(documented, routes)
    assert not found["missing"], f"routes neither in an admin document nor internal: {found['missing']}"
    assert not found["both"], f"routes documented and listed as internal: {found['both']}"
    assert found["used"] == {e[0] for e in INTERNAL}, \
        f"stale INTERNAL entries: {({e[0] for e in INTERNAL}) - found['used']}"


def test_the_walk_sees_a_new_route(admin_docs) -> None:
    """The walk is not vacuous: a route added at the top level, or inside a mounted router,
    without a document is reported (mutation tried: ``_endpoints`` yielding only the mount's
    own path -> the mounted route goes unseen and this test fails)."""
    documented, routes = admin_docs

    def dummy(request: Any) -> PlainTextResponse:
        return PlainTextResponse("")

    extra: list[BaseRoute] = [Route("/api/apps/{app}/reports/dummy", dummy, methods=["GET"]),
                              Mount("/api/apps/{app}/plugin", app=Router([Route("/ping", dummy, methods=["POST"])]))]
    found = _unaccounted(documented, [*routes, *extra])
    assert found["missing"] == [("GET", "/api/apps/{app}/reports/dummy"), ("POST", "/api/apps/{app}/plugin/ping")]


@pytest.mark.parametrize("template", TEMPLATES)
def test_operation_ids_and_names_are_ascii(template_apps, template: str) -> None:
    """Every demo role's document of ``template`` validates as OpenAPI 3.1 (the admin's with
    openapi_spec_validator, the others' against the compiled OAS 3.1 schema) and its local
    ``$ref``s resolve; operationIds are present, unique, ASCII identifiers, and so are the
    schema (and enum) names; no schema carries a (Chinese) ``title``; every array has ``items``.
    Mutations: field labels put back in ``title`` (``field_schema``) -> a non-ASCII title;
    ``items`` dropped from the movement document reference -> an array without items;
    (api23b, each seen failing) ``items`` dropped from a child table's schema
    (``field_schema``) -> an array without items; the operationId of list routes given a
    ``列表_`` prefix (``openapi._entity_paths``) -> non-ASCII ids; a ``$ref`` to a missing ``#/components/schemas/Nope`` put in a role's document
    -> dangling; a ``"type": "arry"`` or an ``"items": 5`` put in a role's document ->
    fails the compiled schema (test_role_documents_fail_the_compiled_schema)."""
    for user in DEMO_USERS:
        _check_names(template_apps.doc(template, user), f"{template}/{user}", full=user == "admin")


@functools.cache
def _oas31() -> Any:
    """The OAS 3.1 JSON schema with its Schema Object replaced by the Draft 2020-12
    meta-schema (what the OAS 3.1 base dialect adds are annotations), compiled once."""
    path = Path(openapi_spec_validator.__file__).parent / "resources" / "schemas" / "v3.1" / "schema.json"
    schema = json.loads(path.read_text())
    schema["$defs"]["schema"] = {"$dynamicAnchor": "meta", "$ref": "https://json-schema.org/draft/2020-12/schema"}
    return jsonschema_rs.validator_for(schema)


_VALIDATED: set[str] = set()  # sha256 of the documents openapi_spec_validator passed (this process)


def _validate(doc: dict[str, Any], who: str, full: bool) -> None:
    """``full``: openapi_spec_validator, once per distinct document; otherwise the compiled
    OAS 3.1 schema. Either way every local ``$ref`` must resolve in ``doc``."""
    if full:
        key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
        if key not in _VALIDATED:
            validate(doc)
            _VALIDATED.add(key)
    else:
        errors = [f"{e.instance_path}: {e.message[:200]}" for e in _oas31().iter_errors(doc)]
        assert not errors, (who, errors[:5])
    refs: set[str] = set()
    _collect(doc, lambda node: refs.add(node["$ref"]) if isinstance(node.get("$ref"), str) else None)
    dangling = sorted(ref for ref in refs if not _resolves(doc, ref))
    assert not dangling, (who, dangling)


def _collect(node: object, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for v in node.values():
            _collect(v, visit)
    elif isinstance(node, list):
        for v in node:
            _collect(v, visit)


def _resolves(doc: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return False  # the documents are self-contained
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _check_names(doc: dict[str, Any], who: str, full: bool = True) -> None:
    _validate(doc, who, full)
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) and all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), (who, ids)
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) for name in doc["components"]["schemas"]), who
    assert doc["info"]["title"].isascii(), who

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
    assert not problems, (who, problems)
    item = doc["components"]["schemas"]["Item"]
    assert item["description"] and not item["description"].isascii(), who  # the label, in description


def test_role_documents_fail_the_compiled_schema(template_apps) -> None:
    """The cheap check of the role documents is not vacuous: a role's document passes it,
    and fails it once it has an invalid Schema Object (a type that does not exist, an
    ``items`` that is not a schema), a response without its description, or a ``$ref`` to
    a schema it does not have. (Mutation tried: the Schema Object left as the OAS schema's
    ``{"type": ["object", "boolean"]}`` instead of the meta-schema -> the first two pass.)"""
    import copy

    doc = template_apps.doc("standard", "sales")
    _validate(doc, "sales", full=False)
    name = next(iter(doc["components"]["schemas"]))
    path, ops = next(iter(doc["paths"].items()))
    method = next(iter(ops))
    mutations: list[Callable[[dict[str, Any]], None]] = [
        lambda d: d["components"]["schemas"][name].update(type="arry"),
        lambda d: d["components"]["schemas"][name].update(properties={"x": {"type": "array", "items": 5}}),
        lambda d: d["paths"][path][method]["responses"].update({"299": {"content": {}}}),
        lambda d: d["components"]["schemas"][name].update(properties={"x": {"$ref": "#/components/schemas/Nope"}}),
    ]
    for i, mutate in enumerate(mutations):
        broken = copy.deepcopy(doc)
        mutate(broken)
        with pytest.raises(AssertionError):
            _validate(broken, f"mutation {i}", full=False)
