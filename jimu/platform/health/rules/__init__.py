"""The built-in health rules, one module per category."""

from __future__ import annotations

from jimu.platform.health.model import Rule
from jimu.platform.health.rules import au, df, dm, fx, mg, pf, ps, wf

__all__ = ["builtin_rules"]


def builtin_rules() -> list[Rule]:
    """Every built-in rule, in category order."""
    return [*df.RULES, *dm.RULES, *fx.RULES, *wf.RULES, *ps.RULES, *pf.RULES, *au.RULES, *mg.RULES]
