"""Upgrading (three-way merge) and uninstalling capability units.

``upgrade_cbu`` merges CBU old version (the snapshot kept at install) × CBU new version ×
the app's current draft. Customizations survive; a property both sides changed
differently is a conflict and nothing is applied until ``resolutions`` settles every
conflict path (``{"field:x.y/options.expression": "mine" | "theirs"}``). ``dry_run`` only
plans. ``uninstall_cbu`` removes the unit's behaviour (workflows, automations, role
rights, postings, views) and archives its entities and fields — tables are never dropped,
and reinstalling brings the data back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jimu.core.errors import Conflict, NotFound
from jimu.platform.specs import AppSpec
from jimu.templates_market.catalog import catalog_for
from jimu.templates_market.contrib import contribution, flatten_app, remove_key
from jimu.templates_market.installed import InstalledCbu, installed_units, save_unit
from jimu.templates_market.installer import apply_plan, load_actions
from jimu.templates_market.merge3 import MergePlan, Resolution, plan_merge
from jimu.templates_market.versions import satisfies

__all__ = ["UpgradeResult", "upgrade_cbu", "uninstall_cbu", "UninstallResult", "installed"]


@dataclass
class UpgradeResult:
    app: str
    cbu: str
    from_version: str
    to_version: str
    plan: MergePlan
    applied: bool = False
    dry_run: bool = False
    version: int = 0

    @property
    def conflicts(self) -> list[Any]:
        return self.plan.conflicts

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "cbu": self.cbu, "from_version": self.from_version, "to_version": self.to_version,
                "applied": self.applied, "dry_run": self.dry_run, "version": self.version,
                "waiting_for_resolutions": bool(self.plan.conflicts) and not self.applied, **self.plan.as_dict()}


@dataclass
class UninstallResult:
    app: str
    cbu: str
    removed: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    kept_shared: list[str] = field(default_factory=list)
    version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"app": self.app, "cbu": self.cbu, "removed": self.removed, "archived": self.archived,
                "kept_shared": self.kept_shared, "version": self.version}


def installed(jimu: Any, app: str) -> list[InstalledCbu]:
    """The units installed in ``app``."""
    with jimu.db.read() as c:
        return list(installed_units(c, app).values())


def _row(jimu: Any, app: str, cbu: str) -> tuple[InstalledCbu, dict[str, InstalledCbu]]:
    with jimu.db.read() as c:
        units = installed_units(c, app)
    if cbu not in units:
        raise NotFound(f"'{cbu}' is not installed in app '{app}'", code="cbu.not_installed")
    return units[cbu], units


def upgrade_cbu(jimu: Any, app: str, cbu: str, version: str | None = None, *, dry_run: bool = False,
                resolutions: dict[str, Resolution] | None = None, params: dict[str, Any] | None = None,
                author: str | None = "admin") -> UpgradeResult:
    """Upgrade ``cbu`` in ``app`` to the newest version inside ``version`` (a range)."""
    row, units = _row(jimu, app, cbu)
    pkg = catalog_for(jimu).cbu(cbu, version)
    for dep in pkg.manifest.depends:
        if dep.name not in units:
            raise Conflict(f"{pkg.manifest.ref} needs '{dep.name}' ({dep.version}); install it first",
                           code="cbu.missing_dependency")
        if not satisfies(units[dep.name].version, dep.version):
            raise Conflict(f"{pkg.manifest.ref} needs {dep.name} {dep.version}, the app has "
                           f"{units[dep.name].version}; upgrade it first", code="cbu.version_conflict")
    unit_params = pkg.manifest.resolve_params({**row.params, **(params or {})})
    theirs = contribution(pkg.manifest, unit_params)
    draft = jimu.store.draft(app).dump()
    keys = list(dict.fromkeys([*theirs, *row.contribution]))
    plan = plan_merge(row.contribution, theirs, flatten_app(draft, keys), resolutions)
    _keep_handed_over(plan, cbu, units)
    result = UpgradeResult(app, cbu, row.version, pkg.version, plan, dry_run=dry_run,
                           version=jimu.store.published_version(app))
    if dry_run or plan.conflicts:
        return result
    apply_plan(draft, plan, pkg.manifest.ref, previous_ref=row.ref)
    for key, owner in list(draft.get("owners", {}).items()):
        if owner == row.ref:
            draft["owners"][key] = pkg.manifest.ref
    pub = jimu.store.publish(app, author=author, spec=AppSpec.model_validate(draft))
    with jimu.db.write() as c:
        save_unit(c, app, cbu, pkg.version, unit_params, theirs)
    jimu.apps.invalidate(app)
    rename_values(jimu, app, pkg.manifest.value_renames)
    load_actions(pkg)
    result.applied, result.version = True, pub.version
    return result


def _keep_handed_over(plan: Any, cbu: str, units: dict[str, Any]) -> None:
    """A key the unit drops that another installed unit now contributes (e.g. the quarantine
    write-off moved from batch_tracking 1.1 into stock 1.3) was handed over, not removed:
    the step becomes a keep, so upgrading the old owner does not archive it."""
    from jimu.templates_market.merge3 import MergeStep

    others = {k: name for name, u in units.items() if name != cbu for k in (u.contribution or {})}
    for i, step in enumerate(plan.steps):
        if step.action == "remove" and step.key in others:
            plan.steps[i] = MergeStep(step.key, "keep", f"now contributed by {others[step.key]}; kept")


def rename_values(jimu: Any, app: str, renames: Any) -> int:
    """Rewrite stored values a unit's new version renamed (``value_renames``), in one
    transaction; returns the rows changed. Fields the app lacks are skipped."""
    import sqlalchemy as sa

    from jimu.platform.schema import column_name

    changed = 0
    rt = jimu.apps.get(app)
    with jimu.db.write() as c:
        for r in renames:
            ent = rt.spec.entity(r.entity)
            f = ent.field(r.field) if ent is not None else None
            if f is None:
                continue
            table = rt.tables(r.entity)
            col = table.c[column_name(f)]
            for old, new in r.values.items():
                changed += c.execute(sa.update(table).where(col == old).values({col.name: new})).rowcount or 0
    return changed


def uninstall_cbu(jimu: Any, app: str, cbu: str, *, author: str | None = "admin") -> UninstallResult:
    """Remove ``cbu``'s behaviour from ``app`` and archive its data (409 while another
    installed unit depends on it)."""
    row, units = _row(jimu, app, cbu)
    catalog = catalog_for(jimu)
    users = []
    for name, unit in units.items():
        if name == cbu:
            continue
        pkg = catalog.exact(name, unit.version)
        if pkg is not None and any(d.name == cbu for d in pkg.manifest.depends):
            users.append(name)
    if users:
        raise Conflict(f"cannot uninstall '{cbu}': {', '.join(sorted(users))} depend(s) on it; uninstall those first",
                       code="cbu.in_use", extra={"dependents": sorted(users)})
    shared = {k for name, u in units.items() if name != cbu for k in u.contribution}
    draft = jimu.store.draft(app).dump()
    result = UninstallResult(app, cbu)
    owners: dict[str, str] = draft.setdefault("owners", {})
    # Children before parents, so a field is archived before its entity.
    for key in reversed(list(row.contribution)):
        if key in shared:
            result.kept_shared.append(key)
            continue
        remove_key(draft, key)
        (result.archived if key.startswith(("entity:", "field:")) else result.removed).append(key)
        if owners.get(key, "").split("@", 1)[0] == cbu:
            owners.pop(key, None)
    pub = jimu.store.publish(app, author=author, spec=AppSpec.model_validate(draft))
    with jimu.db.write() as c:
        save_unit(c, app, cbu, row.version, row.params, row.contribution, status="uninstalled")
    jimu.apps.invalidate(app)
    result.version = pub.version
    return result
