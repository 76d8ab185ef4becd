"""MG: governance — retire candidates by reuse and failure rates, outdated unit versions,
ownership records pointing at nothing."""

from __future__ import annotations

import re

from jimu.platform.health.model import Fix, Hit, Rule, ScanContext, parse_owner
from jimu.platform.health.rules._util import copy_app
from jimu.platform.specs import AppSpec

__all__ = ["RULES", "REUSE_FLOOR", "FAILURE_CEILING", "version_tuple"]

REUSE_FLOOR = 0.05  # retire below 5 % reuse ...
FAILURE_CEILING = 0.003  # ... or above 0.3 % failure
MIN_APPS = 20  # reuse is meaningless on a handful of apps
MIN_EVENTS = 1000


def installed(ctx: ScanContext) -> dict[str, str]:
    """CBU name -> installed version, from the owners map (and the manifests given)."""
    out = {name: info.version for name, info in ctx.cbus.items()}
    for owner in ctx.app.owners.values():
        name, version = parse_owner(owner)
        out[name] = version or out.get(name, "")
    return out


def check_low_reuse(ctx: ScanContext) -> list[Hit]:
    hits = []
    for name in sorted(installed(ctx)):
        u = ctx.usage.get(name)
        if u and u.apps_total >= MIN_APPS and u.reuse_rate < REUSE_FLOOR:
            hits.append(Hit(f"cbu:{name}", f"cbus.{name}",
                            f"CBU {name} is used by {u.apps_using} of {u.apps_total} apps "
                            f"({u.reuse_rate:.1%} < {REUSE_FLOOR:.0%}): retire candidate"))
    return hits


def check_failure_rate(ctx: ScanContext) -> list[Hit]:
    hits = []
    for name in sorted(installed(ctx)):
        u = ctx.usage.get(name)
        if u and u.events >= MIN_EVENTS and u.failure_rate > FAILURE_CEILING:
            hits.append(Hit(f"cbu:{name}", f"cbus.{name}",
                            f"CBU {name} failed {u.errors} of {u.events} runs "
                            f"({u.failure_rate:.2%} > {FAILURE_CEILING:.1%}): retire or repair candidate"))
    return hits


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:4]) or (0,)


def check_outdated(ctx: ScanContext) -> list[Hit]:
    hits = []
    for name, version in sorted(installed(ctx).items()):
        info = ctx.cbus.get(name)
        if info and info.latest_version and version_tuple(version) < version_tuple(info.latest_version):
            hits.append(Hit(f"cbu:{name}", f"cbus.{name}.version",
                            f"CBU {name} {version} is installed; {info.latest_version} is available"))
    return hits


# Every kind of key a unit's contribution owns (jimu.templates_market.contrib).
_OWNER_KEY = re.compile(r"^(entity|field|workflow|state|transition|timer|input|role|form|view|automation|ledger|"
                        r"dimension|posting|postopt|dashboard|setting):[a-z][a-z0-9_.]*$")


def check_stale_owners(ctx: ScanContext) -> list[Hit]:
    hits = []
    for key, owner in sorted(ctx.app.owners.items()):
        problem = None
        if not _OWNER_KEY.match(key):
            problem = "is not an element key (kind:name, field:entity.field)"
        elif "@" not in owner:
            problem = f"owner {owner!r} has no version (cbu@version)"
        elif ctx.element_json(key) is None:
            problem = "names an element that no longer exists"
        if problem:
            hits.append(Hit("app", f"owners.{key}", f"ownership record '{key}' {problem}"))
    return hits


def _fix_owners(app: AppSpec, hits: list[Hit]) -> AppSpec:
    new = copy_app(app)
    for h in hits:
        new.owners.pop(h.path.partition(".")[2], None)
    return new


RULES = [
    Rule("MG-01", "MG", "medium", "复用率低于 5%(建议下线)", "Reuse below 5 % (retire candidate)", check_low_reuse,
         "Review the unit with its owners; retire it or fold it into a more used unit."),
    Rule("MG-02", "MG", "high", "故障率高于 0.3%", "Failure rate above 0.3 %", check_failure_rate,
         "Repair the unit (see its error log) or retire it."),
    Rule("MG-03", "MG", "low", "能力单元版本过旧", "Outdated CBU version", check_outdated,
         "Upgrade the unit; the three-way merge keeps your customizations."),
    Rule("MG-04", "MG", "low", "归属记录失效", "Stale ownership record", check_stale_owners,
         "Remove ownership records of elements that were deleted or renamed.",
         Fix(lambda hits: [f"remove {h.path}" for h in hits], _fix_owners)),
]
