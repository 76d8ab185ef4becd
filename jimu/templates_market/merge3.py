"""Three-way merge of a CBU's old contribution (base), its new contribution (theirs) and
the app's current spec (mine), element key by element key and property by property.

A property changed only by the user keeps the user's value; changed only by the CBU takes
the CBU's; changed by both to different values is a :class:`MergeConflict` unless
``resolutions[path]`` says ``"mine"`` or ``"theirs"``. Paths look like
``field:sales_order_line.amount/options.expression``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from jimu.templates_market.contrib import Flat

__all__ = ["MergeConflict", "MergeStep", "MergePlan", "plan_merge", "Resolution"]

Resolution = Literal["mine", "theirs"]
_MISSING: Any = object()


@dataclass
class MergeConflict:
    path: str
    base: Any
    mine: Any
    theirs: Any

    def as_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if v is _MISSING else v

        return {"path": self.path, "base": clean(self.base), "mine": clean(self.mine), "theirs": clean(self.theirs)}


@dataclass
class MergeStep:
    key: str
    action: Literal["add", "update", "remove", "keep", "skip"]
    reason: str = ""
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "action": self.action, "reason": self.reason}


@dataclass
class MergePlan:
    steps: list[MergeStep] = field(default_factory=list)
    conflicts: list[MergeConflict] = field(default_factory=list)

    @property
    def changes(self) -> list[MergeStep]:
        return [s for s in self.steps if s.action in ("add", "update", "remove")]

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [s.as_dict() for s in self.steps if s.action != "skip" or s.reason],
                "conflicts": [c.as_dict() for c in self.conflicts]}


def _merge(base: Any, mine: Any, theirs: Any, path: str, plan: MergePlan,
           resolutions: dict[str, Resolution]) -> Any:
    if mine == theirs:
        return mine
    if mine == base:
        return theirs
    if theirs == base:
        return mine
    if all(isinstance(v, dict) for v in (mine, theirs)) and (base is _MISSING or isinstance(base, dict)):
        b = base if isinstance(base, dict) else {}
        out: dict[str, Any] = {}
        for k in [*mine, *[k for k in theirs if k not in mine]]:
            sub = f"{path}.{k}" if "/" in path else f"{path}/{k}"
            v = _merge(b.get(k, _MISSING), mine.get(k, _MISSING), theirs.get(k, _MISSING), sub, plan, resolutions)
            if v is not _MISSING:
                out[k] = v
        return out
    choice = resolutions.get(path)
    if choice == "theirs":
        return theirs
    if choice == "mine":
        return mine
    plan.conflicts.append(MergeConflict(path, base, mine, theirs))
    return mine


def plan_merge(base: Flat, theirs: Flat, mine: Flat, resolutions: dict[str, Resolution] | None = None) -> MergePlan:
    """The steps turning ``mine`` into the merge of ``base`` → ``theirs`` and ``base`` → ``mine``.

    ``mine`` holds the app's current value of each key in ``base`` or ``theirs`` (absent
    or archived elements left out)."""
    res = dict(resolutions or {})
    plan = MergePlan()
    for key, t in theirs.items():
        b, m = base.get(key, _MISSING), mine.get(key, _MISSING)
        if m is _MISSING:
            if b is _MISSING:
                plan.steps.append(MergeStep(key, "add", "new in the unit", t))
            elif b == t:
                plan.steps.append(MergeStep(key, "skip", "removed in the app; left out"))
            else:
                plan.steps.append(MergeStep(key, "skip", "removed in the app, changed by the unit; left out"))
            continue
        merged = _merge(b, m, t, key, plan, res)
        if merged != m:
            plan.steps.append(MergeStep(key, "update", "changed by the unit", merged))
        elif b is not _MISSING and m != b:
            plan.steps.append(MergeStep(key, "keep", "customized in the app; kept"))
        else:
            plan.steps.append(MergeStep(key, "skip"))
    for key, b in base.items():
        if key in theirs:
            continue
        m = mine.get(key, _MISSING)
        if m is _MISSING:
            continue
        if m == b:
            plan.steps.append(MergeStep(key, "remove", "dropped by the unit"))
        else:
            plan.steps.append(MergeStep(key, "keep", "dropped by the unit but customized in the app; kept"))
    return plan
