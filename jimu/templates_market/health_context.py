"""The health scanner's view of an app's installed units (``ScanContext.cbus``)."""

from __future__ import annotations

from typing import Any

from jimu.templates_market.catalog import catalog_for
from jimu.templates_market.installed import installed_units
from jimu.templates_market.manifest import CbuManifest

__all__ = ["scan_context_for", "manifest_info"]


def manifest_info(manifest: CbuManifest, latest: str | None = None) -> Any:
    """A ``CbuManifestInfo`` for one manifest (domains, intended entities and uses)."""
    from jimu.platform.health import CbuManifestInfo

    return CbuManifestInfo(
        name=manifest.name,
        version=manifest.version,
        latest_version=latest,
        domains=tuple(manifest.domains),
        entities=tuple(manifest.intended.entities),
        keywords=tuple(manifest.intended.uses),
        title=str(manifest.title),
    )


def scan_context_for(jimu: Any, app_name: str, *, published: bool = False, **kwargs: Any) -> Any:
    """A ``ScanContext`` of ``app_name``'s draft (or published spec) with every installed
    unit's manifest facts; ``kwargs`` pass through (``usage``, ``stats``)."""
    from jimu.platform.health import ScanContext

    spec = jimu.store.published(app_name) if published else None
    if spec is None:
        spec = jimu.store.draft(app_name)
    catalog = catalog_for(jimu)
    with jimu.db.read() as c:
        units = installed_units(c, app_name)
    cbus = {}
    for name, unit in units.items():
        pkg = catalog.exact(name, unit.version)
        latest = catalog.cbu(name).version if catalog.has_cbu(name) else None
        if pkg is None:
            if not catalog.has_cbu(name):
                continue
            pkg = catalog.cbu(name)
        cbus[name] = manifest_info(pkg.manifest, latest)
    return ScanContext(app=spec, cbus=cbus, **kwargs)
