"""Findings: what validators and the health scanner return instead of raising.

A finding has a stable ``id`` (e.g. ``SPEC-E003``), a severity, the path of the element it
is about (``entities.item.fields.cost_price``), a message naming the element and a hint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["Finding", "Severity", "SEVERITY_ORDER", "blocking"]

Severity = Literal["critical", "high", "medium", "low", "info", "error", "warning"]

SEVERITY_ORDER: dict[str, int] = {
    "critical": 5,
    "error": 5,
    "high": 4,
    "warning": 3,
    "medium": 3,
    "low": 2,
    "info": 1,
}


@dataclass(frozen=True)
class Finding:
    """One problem found in a spec. ``severity`` 'error' blocks saving/publishing."""

    id: str
    severity: Severity
    path: str
    message: str
    hint: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        hint = f" — {self.hint}" if self.hint else ""
        return f"[{self.id}] {self.path}: {self.message}{hint}"


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that block a save or publish (errors and criticals)."""
    return [f for f in findings if SEVERITY_ORDER.get(f.severity, 0) >= 5]
