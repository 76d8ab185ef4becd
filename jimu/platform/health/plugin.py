"""The health scanner's hook implementations: built-in rules and the publish gate."""

from __future__ import annotations

from collections.abc import Callable

from jimu.platform.findings import Finding
from jimu.platform.health.model import Rule
from jimu.platform.hooks import hookimpl
from jimu.platform.specs import AppSpec

__all__ = ["jimu_health_rules", "jimu_publish_gates"]


@hookimpl
def jimu_health_rules() -> list[Rule]:
    """The built-in rules (jimu.platform.health.rules)."""
    from jimu.platform.health.rules import builtin_rules

    return builtin_rules()


@hookimpl
def jimu_publish_gates() -> list[Callable[[AppSpec], list[Finding]]]:
    """The health scan as a publish gate: its critical findings block the publish."""
    from jimu.platform.health.scan import publish_gate

    return [publish_gate]
