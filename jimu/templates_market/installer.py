"""Installing capability units and templates into an app.

``install_cbus`` resolves dependencies, merges every unit's contribution into the app's
draft (a three-way merge with an empty base, so an element the app already has is a
conflict unless it is identical — roles merge by name, rights by entity), records
ownership in ``AppSpec.owners``, publishes once (all schema changes in one transaction),
records the installed units, then loads sample data and runs trusted install steps.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jimu.core.errors import Conflict
from jimu.platform.hooks import collect, register
from jimu.platform.specs import AppSpec
from jimu.templates_market.catalog import catalog_for
from jimu.templates_market.contrib import Flat, contribution, flatten_app, remove_key, set_key
from jimu.templates_market.installed import installed_units, save_unit
from jimu.templates_market.manifest import CbuPackage
from jimu.templates_market.merge3 import MergePlan, plan_merge
from jimu.templates_market.resolve import resolve
from jimu.templates_market.sample_data import SampleLoader

__all__ = ["InstallResult", "InstallContext", "install", "install_cbus", "install_cbu", "install_template",
           "apply_plan", "load_actions", "load_library_actions"]

log = logging.getLogger("jimu.market")


@dataclass
class InstallResult:
    app: str
    installed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    version: int = 0
    sample_rows: dict[str, int] = field(default_factory=dict)
    template: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "template": self.template, "installed": self.installed, "already": self.already,
                "version": self.version, "sample_rows": self.sample_rows, "seconds": round(self.seconds, 3)}


@dataclass
class InstallContext:
    """What an install step (hook ``jimu_template_install_steps``) receives."""

    jimu: Any
    app: str
    packages: list[CbuPackage]
    params: dict[str, dict[str, Any]]
    result: InstallResult


def load_actions(pkg: CbuPackage) -> None:
    """Import a unit's trusted ``actions.py`` and register it as a plugin (once)."""
    if not pkg.manifest.actions:
        return
    path = pkg.path / pkg.manifest.actions
    mod_name = f"jimu_cbu_{pkg.name}_{pkg.version.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register(module, name=f"cbu:{pkg.name}")


def load_library_actions() -> None:
    """Register the trusted actions of every unit in the catalog, so a server started on
    an existing database runs the actions of apps an earlier process installed."""
    from jimu.templates_market.catalog import default_catalog

    for pkg in default_catalog().latest():
        load_actions(pkg)


def apply_plan(app: dict[str, Any], plan: MergePlan, ref: str, previous_ref: str | None = None) -> None:
    """Apply a merge plan's steps to ``app`` (a spec dict) and keep ``owners`` current."""
    owners: dict[str, str] = app.setdefault("owners", {})
    name = ref.split("@", 1)[0]
    for step in plan.steps:
        if step.action in ("add", "update"):
            set_key(app, step.key, step.value)
        elif step.action == "remove":
            remove_key(app, step.key)
            if owners.get(step.key, "").split("@", 1)[0] == name:
                owners.pop(step.key, None)
            continue
        if step.action == "skip" and step.reason:
            continue
        current = owners.get(step.key)
        if current is None or current.split("@", 1)[0] == name or current == previous_ref:
            owners[step.key] = ref


def _check_conflicts(plan: MergePlan, pkg: CbuPackage) -> None:
    if plan.conflicts:
        paths = ", ".join(c.path for c in plan.conflicts[:8])
        raise Conflict(f"installing {pkg.manifest.ref} would overwrite elements the app already has: {paths}",
                       code="cbu.install_conflict", extra={"conflicts": [c.as_dict() for c in plan.conflicts]})


def install_cbus(jimu: Any, app_name: str, requested: list[tuple[str, str | None]], *,
                 params: Mapping[str, Mapping[str, Any]] | None = None, sample_data: bool = True,
                 template: str | None = None, label: Any = None, author: str | None = "admin",
                 no_samples: frozenset[str] = frozenset()) -> InstallResult:
    """Install ``requested`` units (name, version range) and their dependencies into
    ``app_name`` (created when missing) with one publish; the units in ``no_samples`` load
    no sample data."""
    started = time.perf_counter()
    catalog = catalog_for(jimu)
    result = InstallResult(app_name, template=template)
    if not jimu.store.exists(app_name):
        jimu.store.create_app(app_name, label, author=author, template=template)
    given = {k: dict(v) for k, v in (params or {}).items()}
    with jimu.db.read() as c:
        have = installed_units(c, app_name, include_uninstalled=True)
    active = {n: u.version for n, u in have.items() if u.status == "installed"}
    order = resolve(catalog, requested, installed=active, params=given)
    result.already = [f"{n}@{v}" for n, v in active.items() if n in {r[0] for r in requested}]
    app = jimu.store.draft(app_name).dump()
    snapshots: dict[str, tuple[CbuPackage, dict[str, Any], Flat]] = {}
    for pkg in order:
        unit_params = pkg.manifest.resolve_params(given.get(pkg.name))
        flat = contribution(pkg.manifest, unit_params)
        plan = plan_merge({}, flat, flatten_app(app, list(flat)))
        _check_conflicts(plan, pkg)
        apply_plan(app, plan, pkg.manifest.ref)
        snapshots[pkg.name] = (pkg, unit_params, flat)
    if order:
        pub = jimu.store.publish(app_name, author=author, spec=AppSpec.model_validate(app))
        result.version = pub.version
        with jimu.db.write() as c:
            for name, (pkg, unit_params, flat) in snapshots.items():
                save_unit(c, app_name, name, pkg.version, unit_params, flat, template=template)
        jimu.apps.invalidate(app_name)
    else:
        result.version = jimu.store.published_version(app_name)
    result.installed = [p.manifest.ref for p in order]
    for pkg in order:
        load_actions(pkg)
    if sample_data and order:
        reinstalled = {n for n, u in have.items() if u.status == "uninstalled"} | set(no_samples)
        result.sample_rows = _load_samples(jimu, app_name, order, reinstalled)
    ctx = InstallContext(jimu, app_name, order, {n: s[1] for n, s in snapshots.items()}, result)
    for step in collect("jimu_template_install_steps"):
        step(ctx)
    result.seconds = time.perf_counter() - started
    log.info("installed %s into %s in %.2fs", result.installed, app_name, result.seconds)
    return result


def _load_samples(jimu: Any, app: str, order: list[CbuPackage], reinstalled: set[str]) -> dict[str, int]:
    with jimu.db.write() as c:
        loader = SampleLoader(jimu, app, c)
        for pkg in order:
            files = pkg.sample_files()
            if not files or pkg.name in reinstalled:
                continue
            for path in files:
                loader.load_file(path)
    return loader.loaded


def install_cbu(jimu: Any, app_name: str, cbu: str, params: Mapping[str, Any] | None = None, *,
                version: str | None = None, sample_data: bool = True, author: str | None = "admin") -> InstallResult:
    """Install one unit (and what it depends on) into ``app_name``."""
    return install_cbus(jimu, app_name, [(cbu, version)], params={cbu: dict(params or {})},
                        sample_data=sample_data, author=author)


def install_template(jimu: Any, app_name: str, template_id: str, params: Mapping[str, Any] | None = None,
                     sample_data: bool = True, *, author: str | None = "admin") -> InstallResult:
    """Install template ``template_id`` into ``app_name`` (created when missing).

    ``params`` override the template's params; each unit receives those it declares,
    on top of the per-unit params the template fixes."""
    tpl = catalog_for(jimu).template(template_id)
    m = tpl.manifest
    top = {k: p.default for k, p in m.params.items()}
    top.update({k: (m.params[k].coerce(k, v) if k in m.params else v) for k, v in (params or {}).items()})
    per_unit: dict[str, dict[str, Any]] = {}
    for unit in m.cbus:
        per_unit[unit.name] = {**unit.params, **top}
    catalog = catalog_for(jimu)
    for name in catalog.cbu_names():
        per_unit.setdefault(name, dict(top))
    return install_cbus(jimu, app_name, [(u.name, u.version) for u in m.cbus], params=per_unit,
                        sample_data=sample_data and m.sample_data, template=template_id,
                        label=m.title.model_dump(), author=author,
                        no_samples=frozenset(u.name for u in m.cbus if not u.sample_data))


def install(jimu: Any, app_name: str, template: str, params: Mapping[str, Any] | None = None,
            actor: Any = None) -> InstallResult:
    """``POST /api/apps {template}``: install ``template`` (or, failing that, a CBU of that
    name) as ``actor``; an unknown id is a 422 on the ``template`` field."""
    from jimu.core.errors import FieldError, ValidationError

    catalog = catalog_for(jimu)
    author = getattr(actor, "username", None) or "admin"
    if catalog.has_template(template):
        return install_template(jimu, app_name, template, params, author=author)
    if catalog.has_cbu(template):
        return install_cbu(jimu, app_name, template, params, author=author)
    known = ", ".join(t.id for t in catalog.templates())
    raise ValidationError(f"unknown template '{template}' (known: {known})", code="template.unknown",
                          errors=[FieldError("template", "template.unknown", f"one of: {known}")])
