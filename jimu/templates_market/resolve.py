"""Dependency resolution: the install order of the requested units and everything they
need, with clear errors for missing units, impossible versions and cycles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jimu.core.errors import Conflict, NotFound, ValidationError
from jimu.templates_market.catalog import Catalog
from jimu.templates_market.contrib import _when
from jimu.templates_market.manifest import CbuPackage
from jimu.templates_market.versions import satisfies

__all__ = ["resolve"]


def resolve(catalog: Catalog, requested: list[tuple[str, str | None]], *,
            installed: Mapping[str, str] | None = None,
            params: Mapping[str, Mapping[str, Any]] | None = None) -> list[CbuPackage]:
    """Units to install, dependencies first. ``installed`` maps already installed unit
    names to versions (they are not reinstalled, but must satisfy every range);
    ``params[name]`` are the params each unit will get (dependencies may depend on them)."""
    have = dict(installed or {})
    given = params or {}
    order: list[CbuPackage] = []
    chosen: dict[str, CbuPackage] = {}
    state: dict[str, str] = {}  # name -> "visiting" | "done"

    def visit(name: str, rng: str | None, path: list[str]) -> None:
        if name in have:
            if not satisfies(have[name], rng):
                raise Conflict(f"'{path[-1] if path else name}' needs {name} {rng}, but the app has {name} "
                               f"{have[name]}; upgrade {name} first", code="cbu.version_conflict")
            return
        if state.get(name) == "visiting":
            cycle = " → ".join([*path[path.index(name):], name])
            raise ValidationError(f"dependency cycle: {cycle}", code="cbu.cycle")
        if state.get(name) == "done":
            if not satisfies(chosen[name].version, rng):
                raise Conflict(f"{name} is needed as {rng} by '{path[-1]}' but {chosen[name].version} was chosen",
                               code="cbu.version_conflict")
            return
        try:
            pkg = catalog.cbu(name, rng)
        except NotFound as exc:
            needer = f"'{path[-1]}' depends on '{name}' ({rng or '*'}), but " if path else ""
            raise NotFound(f"{needer}{exc}", code=exc.code) from None
        state[name] = "visiting"
        unit_params = pkg.manifest.resolve_params(dict(given.get(name, {})))
        for dep in pkg.manifest.depends:
            if dep.when and not _when(dep.when, unit_params):
                continue
            visit(dep.name, dep.version, [*path, name])
        state[name] = "done"
        chosen[name] = pkg
        order.append(pkg)

    for name, rng in requested:
        visit(name, rng, [])
    return order
