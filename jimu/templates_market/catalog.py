"""Where CBUs and templates come from: the built-in library (``jimu/cbu_library``), the
built-in templates (``jimu/templates_market/templates``) and extra folders (the
``JIMU_CBU_PATH`` environment variable, ``Jimu.settings["cbu_paths"]``, or
:func:`add_cbu_path`). Several versions of one CBU may be present; the highest version
that satisfies a range wins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jimu.core.errors import NotFound
from jimu.templates_market.manifest import CbuPackage, TemplatePackage, load_cbu, load_template
from jimu.templates_market.versions import parse_version, satisfies

__all__ = ["Catalog", "LIBRARY", "TEMPLATES", "add_cbu_path", "catalog_for", "default_catalog"]

LIBRARY = Path(__file__).resolve().parents[1] / "cbu_library"
TEMPLATES = Path(__file__).resolve().parent / "templates"
_EXTRA: list[Path] = []


def add_cbu_path(path: str | Path) -> None:
    """Add a folder of CBU folders (or one CBU folder) to every catalog made afterwards."""
    p = Path(path)
    if p not in _EXTRA:
        _EXTRA.append(p)
    _CACHE.clear()


class Catalog:
    """The CBUs and templates found under a list of folders."""

    def __init__(self, cbu_paths: list[Path], template_paths: list[Path]) -> None:
        self._cbus: dict[str, list[CbuPackage]] = {}
        for root in cbu_paths:
            folders = [root] if (root / "cbu.yaml").is_file() else sorted(root.iterdir()) if root.is_dir() else []
            for folder in folders:
                if (folder / "cbu.yaml").is_file():
                    pkg = load_cbu(folder)
                    self._cbus.setdefault(pkg.name, []).append(pkg)
        for versions in self._cbus.values():
            versions.sort(key=lambda p: parse_version(p.version), reverse=True)
        self._templates: dict[str, TemplatePackage] = {}
        for root in template_paths:
            for folder in sorted(root.iterdir()) if root.is_dir() else []:
                if (folder / "template.yaml").is_file():
                    tpl = load_template(folder)
                    self._templates[tpl.id] = tpl

    def cbu_names(self) -> list[str]:
        return sorted(self._cbus)

    def latest(self) -> list[CbuPackage]:
        """The newest version of every CBU, by name."""
        return [self._cbus[n][0] for n in self.cbu_names()]

    def versions(self, name: str) -> list[CbuPackage]:
        return list(self._cbus.get(name, []))

    def has_cbu(self, name: str) -> bool:
        return name in self._cbus

    def cbu(self, name: str, version: str | None = None) -> CbuPackage:
        """The highest version of ``name`` inside the range ``version`` (404 otherwise)."""
        versions = self._cbus.get(name)
        if not versions:
            raise NotFound(f"no capability unit named '{name}' in the market", code="cbu.not_found")
        for pkg in versions:
            if satisfies(pkg.version, version):
                return pkg
        have = ", ".join(p.version for p in versions)
        raise NotFound(f"no version of '{name}' satisfies '{version}' (available: {have})", code="cbu.version")

    def exact(self, name: str, version: str) -> CbuPackage | None:
        return next((p for p in self._cbus.get(name, []) if p.version == version), None)

    def templates(self) -> list[TemplatePackage]:
        return [self._templates[k] for k in sorted(self._templates)]

    def has_template(self, template_id: str) -> bool:
        return template_id in self._templates

    def template(self, template_id: str) -> TemplatePackage:
        tpl = self._templates.get(template_id)
        if tpl is None:
            raise NotFound(f"no template '{template_id}' (available: {', '.join(sorted(self._templates))})",
                           code="template.not_found")
        return tpl


_CACHE: dict[tuple[str, ...], Catalog] = {}


def _paths(extra: list[Any]) -> list[Path]:
    env = [Path(p) for p in os.environ.get("JIMU_CBU_PATH", "").split(os.pathsep) if p]
    return [LIBRARY, *_EXTRA, *env, *(Path(p) for p in extra)]


def default_catalog(extra: list[Any] | None = None) -> Catalog:
    """The catalog of the library plus extra folders (cached per folder list)."""
    paths = _paths(list(extra or []))
    key = tuple(str(p) for p in paths)
    if key not in _CACHE:
        _CACHE[key] = Catalog(paths, [TEMPLATES])
    return _CACHE[key]


def catalog_for(jimu: Any) -> Catalog:
    """The catalog a running Jimu sees (its ``settings["cbu_paths"]`` included)."""
    settings = getattr(jimu, "settings", None) or {}
    return default_catalog(list(settings.get("cbu_paths", [])))
