"""Health scans of published apps for the runtime (API routes, publish).

What the scanner knows beyond the spec comes from two places: CBU manifests from providers
registered by higher layers (the template market registers one, so the runtime never
imports it), and the runtime facts read from the database (record counts, field fill,
role holders, API keys, CBU reuse and failures: :mod:`jimu.runtime.health_facts`), which
every context gets under whatever its provider supplied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from jimu.platform.health import HealthReport, ScanContext
from jimu.platform.health.store import scan_and_store
from jimu.runtime.context import Jimu

__all__ = ["register_scan_context_provider", "scan_context", "scan_app", "with_runtime_facts"]

_providers: list[Callable[[Jimu, str], ScanContext | None]] = []


def register_scan_context_provider(provider: Callable[[Jimu, str], ScanContext | None]) -> None:
    """Add ``provider(jimu, app) -> ScanContext | None``; the first that answers wins."""
    if provider not in _providers:
        _providers.append(provider)


def scan_context(jimu: Jimu, app: str) -> ScanContext:
    """The richest scan context available for the published ``app``, with its runtime facts."""
    for provider in _providers:
        ctx = provider(jimu, app)
        if ctx is not None:
            return with_runtime_facts(jimu, app, ctx)
    spec = published_spec(jimu, app) or jimu.store.draft(app)
    return with_runtime_facts(jimu, app, ScanContext(app=spec))


def published_spec(jimu: Jimu, app: str) -> Any:
    """The published spec of ``app`` as the runtime holds it (parsed once per version and
    shared: read it, never change it), None if never published."""
    if not jimu.store.published_version(app):
        return None
    return jimu.apps.get(app).spec


def with_runtime_facts(jimu: Jimu, app: str, ctx: ScanContext) -> ScanContext:
    """``ctx`` with the database's facts added (what ``ctx`` already carries wins)."""
    from jimu.runtime.health_facts import app_stats, cbu_usage

    return replace(ctx, stats={**app_stats(jimu, app, ctx.app), **ctx.stats},
                   usage={**cbu_usage(jimu), **ctx.usage})


def scan_app(jimu: Jimu, app: str) -> HealthReport:
    """Scan ``app`` and store the findings (states of earlier findings are kept)."""
    return scan_and_store(jimu.db, scan_context(jimu, app))


