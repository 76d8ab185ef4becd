"""The market catalogue as JSON: templates and capability units (``jimu market list``,
``GET /api/market/templates``, ``GET /api/market/cbus``)."""

from __future__ import annotations

from typing import Any

from jimu.templates_market.catalog import Catalog, catalog_for, default_catalog
from jimu.templates_market.manifest import CbuPackage, TemplatePackage

__all__ = ["screenshot_url", "template_entry", "cbu_entry", "list_templates", "list_cbus"]


def screenshot_url(template_id: str, shot: str) -> str:
    """Where ``GET /market/templates/{id}/screenshots/{file}`` serves ``shot`` (a path as
    ``template.yaml`` lists it; served by its file name)."""
    return f"/market/templates/{template_id}/screenshots/{shot.rsplit('/', 1)[-1]}"


def template_entry(tpl: TemplatePackage) -> dict[str, Any]:
    m = tpl.manifest
    return {
        "id": m.id,
        "title": m.title.model_dump(),
        "description": m.description.model_dump() if m.description else None,
        "industry": m.industry,
        "cbus": [u.name for u in m.cbus],
        "params": {k: {"type": p.type, "default": p.default, "label": p.label.model_dump()} for k, p in m.params.items()},
        "contains": list(m.contains),
        "screenshots": [f"templates/{m.id}/{s}" for s in m.screenshots],
        "screenshot_urls": [screenshot_url(m.id, s) for s in m.screenshots],
        "readme": tpl.readme(),
    }


def cbu_entry(pkg: CbuPackage, catalog: Catalog) -> dict[str, Any]:
    m = pkg.manifest
    return {
        "name": m.name,
        "version": m.version,
        "versions": [p.version for p in catalog.versions(m.name)],
        "title": m.title.model_dump(),
        "description": m.description.model_dump() if m.description else None,
        "domains": list(m.domains),
        "intended": m.intended.model_dump(),
        "depends": [{"name": d.name, "version": d.version} for d in m.depends],
        "params": {k: {"type": p.type, "default": p.default, "choices": p.choices, "label": p.label.model_dump()}
                   for k, p in m.params.items()},
        "has_actions": bool(m.actions),
        "has_sample_data": bool(pkg.sample_files()),
    }


def list_templates(jimu: Any = None) -> list[dict[str, Any]]:
    catalog = catalog_for(jimu) if jimu is not None else default_catalog()
    return [template_entry(t) for t in catalog.templates()]


def list_cbus(jimu: Any = None) -> list[dict[str, Any]]:
    catalog = catalog_for(jimu) if jimu is not None else default_catalog()
    return [cbu_entry(p, catalog) for p in catalog.latest()]
