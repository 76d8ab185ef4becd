"""Health scans of published apps for the runtime (API routes, publish).

What the scanner knows beyond the spec (CBU manifests, usage counters, row counts) comes
from providers registered by higher layers (the template market registers one), so the
runtime never imports them."""

from __future__ import annotations

from collections.abc import Callable

from jimu.platform.health import HealthReport, ScanContext
from jimu.platform.health.store import scan_and_store
from jimu.runtime.context import Jimu

__all__ = ["register_scan_context_provider", "scan_context", "scan_app"]

_providers: list[Callable[[Jimu, str], ScanContext | None]] = []


def register_scan_context_provider(provider: Callable[[Jimu, str], ScanContext | None]) -> None:
    """Add ``provider(jimu, app) -> ScanContext | None``; the first that answers wins."""
    if provider not in _providers:
        _providers.append(provider)


def scan_context(jimu: Jimu, app: str) -> ScanContext:
    """The richest scan context available for the published ``app``."""
    for provider in _providers:
        ctx = provider(jimu, app)
        if ctx is not None:
            return ctx
    spec = jimu.store.published(app) or jimu.store.draft(app)
    return ScanContext(app=spec)


def scan_app(jimu: Jimu, app: str) -> HealthReport:
    """Scan ``app`` and store the findings (states of earlier findings are kept)."""
    return scan_and_store(jimu.db, scan_context(jimu, app))


