"""Each demo role's OpenAPI document of each template against what that role may see and
what the routes answer it (issue 23: "covers every route the caller may use ... and still
nothing the caller may not see"). The apps are ``template_apps`` (all six templates, no
sample data; the documents depend on the spec and the caller only).

- Entity schemas: a hidden field is absent from the record, input and patch schemas and
  from the ``sort``/``fields`` parameters; a masked field is marked ``x-jimu-masked`` and
  read-only and is never offered as a sort.
- Reports: a role that does not read the item's cost in clear finds no cost in any report
  operation or schema (``cost``/``成本``), and a role for whom the cost is hidden finds
  ``cost_price`` nowhere in its document.
- Routes: every GET and POST route without a record id (reports, imports, chat orders,
  ledger balances and movements, inbox, export, ...) is probed as each role; it is in the
  role's document exactly when it answers anything but 401/403/404 (a 404 naming a missing
  preview is an answer).

Mutations tried (each made a test here fail):
- the ABC report's default ``by`` back to ``value`` for everyone (``abc._params``): sales and
  warehouse get 403 from a documented ``GET .../reports/abc``;
- ``require_importer`` not called by the import routes: ``vp`` (creates nothing) gets a
  422 from the undocumented ``POST .../import/preview``;
- the prep suggestion documented wherever warehouses are readable (the old ``_add_prep``
  gate): documented in standard, answered 404;
- the MRP report routes reading their parameters before the app and the rights (as first
  landed): 422 from the undocumented ``reports/mrp-grid`` in every app without MRP;
- the ABC description mentioning the item's cost to a caller without it: the cost check;
- ``field_schema`` without ``x-jimu-masked``: the masked check."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from jimu.cli.basics import DEMO_USERS
from jimu.runtime.access import AccessPolicy
from jimu.runtime.api.openapi_paths import camel
from jimu.runtime.intel.demand import clear_field
from jimu.runtime.records.codec import SYSTEM_FIELDS
from tests.runtime.api.conftest import TEMPLATES, TemplateApps
from tests.runtime.api.test_openapi_routes import _internal

# One worker builds the six templates of ``template_apps`` for both files (``--dist loadgroup``
# in pyproject's addopts); without it each xdist worker that draws one of these tests builds them again.
pytestmark = pytest.mark.xdist_group("template_apps")

# A 404 that answers the request (the thing named in the body is missing), not "not for you".
ANSWERED_404 = {"import.preview_not_found"}


def _policy(apps: TemplateApps, template: str, user: str) -> AccessPolicy:
    found = apps.jimu.users.authenticate(user, user)
    assert found is not None
    return AccessPolicy.for_actor(apps.jimu, template, found.actor())


def _refs(node: Any) -> set[str]:
    text = json.dumps(node)
    return set(re.findall(r'"#/components/schemas/([A-Za-z0-9]+)"', text))


def _reachable(doc: dict[str, Any], roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in doc["components"]["schemas"]:
            continue
        seen.add(name)
        todo += _refs(doc["components"]["schemas"][name])
    return seen


@pytest.mark.parametrize("template", TEMPLATES)
def test_hidden_fields_absent_masked_fields_marked(template_apps: TemplateApps, template: str) -> None:
    for user in DEMO_USERS:
        doc, policy = template_apps.doc(template, user), _policy(template_apps, template, user)
        schemas = doc["components"]["schemas"]
        for ent in policy.rt.spec.entities:
            read = schemas.get(camel(ent.name))
            if read is None:
                continue
            who = f"{template}/{user}/{ent.name}"
            hidden = {f.name for f in ent.active_fields if not policy.field_rule(ent.name, f.name).visible}
            masked = set(policy.masked_fields(ent.name))
            props = set(read["properties"]) - set(SYSTEM_FIELDS)
            assert not hidden & props, (who, hidden & props)
            assert props <= {f.name for f in ent.active_fields}, who
            for name in masked & props:
                assert read["properties"][name].get("x-jimu-masked") is True, (who, name)
                assert read["properties"][name].get("readOnly") is True, (who, name)
            for suffix in ("Input", "Patch"):
                written = set(schemas.get(camel(ent.name) + suffix, {}).get("properties", {}))
                assert written <= set(policy.writable_fields(ent.name)), (who, suffix, written)
            listing = doc["paths"].get(f"/api/apps/{template}/data/{ent.name}", {}).get("get")
            if listing is not None:
                params = {p["name"]: p for p in listing["parameters"]}
                assert not set(params["sort"]["x-jimu-sortable"]) & (hidden | masked), who
                named = set(re.findall(r"[a-z_][a-z0-9_]*", params["fields"]["schema"]["pattern"]))
                assert not hidden & named, (who, hidden & named)


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_cost_in_the_reports_of_a_caller_without_it(template_apps: TemplateApps, template: str) -> None:
    checked = 0
    for user in DEMO_USERS:
        doc, policy = template_apps.doc(template, user), _policy(template_apps, template, user)
        if clear_field(policy, "item", "cost_price"):
            continue
        reports = {p: ops for p, ops in doc["paths"].items() if "/reports/" in p}
        text = json.dumps(reports, ensure_ascii=False)
        text += json.dumps([doc["components"]["schemas"][n] for n in sorted(_reachable(doc, _refs(reports)))],
                           ensure_ascii=False)
        assert not re.search(r"cost|成本", text, re.IGNORECASE), (template, user, re.findall(r".{60}cost.{20}", text))
        if not policy.field_rule("item", "cost_price").visible:
            assert "cost_price" not in json.dumps(doc), (template, user)
        checked += 1
    assert checked >= 2  # sales (masked) and warehouse (hidden) at least


def _probe_params(policy: AccessPolicy, path: str) -> dict[str, str]:
    """The query a GET needs before it looks at rights (the export names its entity)."""
    if path.endswith("/export"):
        names = [e.name for e in policy.rt.spec.entities if policy.can(e.name, "export")]
        return {"entity": (names or [e.name for e in policy.rt.spec.entities])[0]}
    if path.endswith("/prep-suggestion"):
        return {"store": "1"}
    return {}


@pytest.mark.parametrize("template", TEMPLATES)
def test_documented_exactly_when_the_route_answers(template_apps: TemplateApps, template: str) -> None:
    from starlette.routing import Route

    apps = template_apps
    ledgers = [lg.name for lg in apps.jimu.apps.get(template).spec.ledgers]
    probes: list[tuple[str, str]] = []
    for route in apps.app.routes:
        if not isinstance(route, Route) or route.path.endswith("/events"):  # the stream never ends
            continue
        params = set(re.findall(r"\{([^}]+)\}", route.path))
        if not params <= {"app", "ledger"}:
            continue
        for method in sorted((route.methods or set()) & {"GET", "POST"}):
            if _internal(route.path, method) is not None:
                continue
            path = route.path.replace("{app}", template)
            probes += [(method, path.replace("{ledger}", lg)) for lg in ledgers] if "{ledger}" in path \
                else [(method, path)]
    assert len(probes) > 25, probes
    wrong = []
    for user in DEMO_USERS:
        doc, policy = apps.doc(template, user), _policy(apps, template, user)
        for method, path in probes:
            if method == "GET":
                r = apps.client.get(path, headers=apps.h(user), params=_probe_params(policy, path))
            else:
                r = apps.client.post(path, headers=apps.h(user), json={})
            code = r.json().get("code") if r.status_code >= 400 else None
            answered = r.status_code not in (401, 403, 404) or code in ANSWERED_404
            documented = method.lower() in doc["paths"].get(path, {})
            if answered != documented:
                wrong.append((user, method, path, r.status_code, code, "documented" if documented else "undocumented"))
    assert not wrong, wrong


def test_an_entity_keeps_its_schema_name(make_db_url: Any) -> None:
    """An entity whose schema name another component would take (``item_kind`` against the
    enum of ``item.kind``, ``webhook`` against the admin's webhook answer) keeps it; the other
    gets ``<name>Value``; the entity ``webhook`` keeps ``create_webhook`` and the admin's
    webhook route becomes ``create_webhook_2`` (operationIds unique: the document validates).
    Mutations: ``Components.claim`` ignoring ``reserved`` -> the ``ItemKind`` entity schema
    replaced by the enum (no ``properties``); ``Doc.op`` without the suffix loop ->
    DuplicateOperationIDError."""
    from openapi_spec_validator import validate

    from jimu.runtime.api.openapi import build_openapi
    from jimu.runtime.context import Jimu

    jimu = Jimu.open(make_db_url("sqlite"))
    try:
        jimu.store.create_app("clash", {"zh": "冲突", "en": "Clash"})
        kinds = {"choices": [{"value": "raw"}, {"value": "goods"}]}
        # item first: its enum is built before the item_kind entity's schema
        jimu.store.put_element("clash", "entity", "item", {"name": "item", "fields": [
            {"name": "name", "type": "text"}, {"name": "kind", "type": "choice", "options": kinds}]})
        jimu.store.put_element("clash", "entity", "item_kind", {"name": "item_kind", "fields": [
            {"name": "code", "type": "text", "required": True}]})
        jimu.store.put_element("clash", "entity", "webhook", {"name": "webhook", "fields": [
            {"name": "url", "type": "url"}]})
        jimu.store.publish("clash")
        jimu.users.create("admin", "admin", ["admin"])
        found = jimu.users.authenticate("admin", "admin")
        assert found is not None
        doc = build_openapi(AccessPolicy.for_actor(jimu, "clash", found.actor()))
    finally:
        jimu.close()
    validate(doc)
    schemas = doc["components"]["schemas"]
    assert set(schemas["ItemKind"]["properties"]) >= {"id", "code"}
    assert set(schemas["Webhook"]["properties"]) >= {"id", "url"}
    assert schemas["ItemKindValue"] == {"type": "string", "enum": ["raw", "goods"]}
    kind = json.dumps(schemas["Item"]["properties"]["kind"])
    assert "#/components/schemas/ItemKindValue" in kind
    hook = doc["paths"]["/api/apps/clash/webhooks/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert hook["schema"] == {"$ref": "#/components/schemas/WebhookValue"}
    ops = {(p, m): op["operationId"] for p, item in doc["paths"].items() for m, op in item.items()}
    assert ops["/api/apps/clash/data/webhook", "post"] == "create_webhook"
    assert ops["/api/apps/clash/webhooks", "post"] == "create_webhook_2"
