"""Health scan of a generated app: 200 entities / 3,000 fields / 50 workflows.

Prints one JSON line per figure: {"figure", "value", "unit", "baseline", "baseline_value",
"ratio"}. The baseline is plain spec validation (``validate_app``) of the same app; the
target is a full scan (every registered rule) under 1 s.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from jimu.platform.health import ScanContext, all_rules, run_scan
from jimu.platform.specs import AppSpec
from jimu.platform.specs.validate import validate_app

ENTITIES, FIELDS_PER_ENTITY, WORKFLOWS = 200, 15, 50


def generate_app() -> AppSpec:
    entities: list[dict[str, Any]] = []
    for i in range(ENTITIES):
        fields: list[dict[str, Any]] = [
            {"name": "name", "label": f"名称{i}", "unique": True},
            {"name": "code", "label": f"编码{i}", "indexed": True},
            {"name": "qty", "type": "decimal", "label": "数量"},
            {"name": "price", "type": "money", "label": "单价"},
            {"name": "amount", "type": "formula", "label": "金额",
             "options": {"expression": "ROUND(qty * price, 2)", "result_type": "money"}},
            {"name": "state", "type": "choice", "indexed": True,
             "options": {"choices": ["draft", "open", "done", "cancelled"]}},
        ]
        if i:
            fields.append({"name": "parent", "type": "link", "label": "上级",
                           "options": {"entity": f"e{i - 1}", "on_delete": "restrict"}})
        while len(fields) < FIELDS_PER_ENTITY:
            n = len(fields)
            fields.append({"name": f"f{n}", "type": "integer" if n % 2 else "text", "label": f"字段{n}"})
        entities.append({"name": f"e{i}", "label": f"实体{i}", "fields": fields})
    workflows = [{
        "name": f"wf{i}", "entity": f"e{i}",
        "states": [{"name": "draft", "initial": True}, {"name": "open"}, {"name": "done", "final": True},
                   {"name": "cancelled", "final": True}],
        "transitions": [
            {"name": "submit", "from": ["draft"], "to": "open", "roles": ["clerk"]},
            {"name": "finish", "from": ["open"], "to": "done", "roles": ["manager"],
             "approval": {"steps": [{"name": "ok", "approvers": [{"kind": "role", "value": "manager"}]}]}},
            {"name": "cancel", "from": ["draft", "open"], "to": "cancelled", "roles": ["clerk", "manager"]},
        ],
        "timers": [{"name": "stale", "state": "open", "after": "PT48H", "action": {"kind": "escalate"}}],
    } for i in range(WORKFLOWS)]
    roles = [
        {"name": "admin", "all_entities": {"create": True, "read": True, "update": True, "delete": True}},
        {"name": "clerk", "entities": {f"e{i}": {"create": True, "read": True, "update": True,
                                                  "row_filter": "state != 'cancelled'"} for i in range(ENTITIES)}},
        {"name": "manager", "entities": {f"e{i}": {"read": True} for i in range(ENTITIES)}},
    ]
    views = [{"name": f"v{i}", "entity": f"e{i}", "columns": ["name", "amount"], "filter": "state == 'open'",
              "sort": ["-code"]} for i in range(ENTITIES)]
    return AppSpec.model_validate({"name": "bench", "entities": entities, "workflows": workflows,
                                   "roles": roles, "views": views})


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _clear_expression_cache() -> None:
    try:
        from jimu.platform.expressions import clear_cache
    except ImportError:
        return
    clear_cache()


def main() -> None:
    app = generate_app()
    rules = all_rules()
    n_fields = sum(len(e.fields) for e in app.entities)
    assert (len(app.entities), n_fields, len(app.workflows)) == (ENTITIES, ENTITIES * FIELDS_PER_ENTITY, WORKFLOWS)
    baseline = timed(lambda: validate_app(app))

    def cold() -> None:
        _clear_expression_cache()
        run_scan(ScanContext(app=app), rules)

    scan_cold = timed(cold)
    scan_warm = timed(lambda: run_scan(ScanContext(app=app), rules))
    report = run_scan(ScanContext(app=app), rules)
    # The same app with a finding on every link (no on_delete) and every list sort (unindexed).
    heavy = app.model_copy(deep=True)
    for e in heavy.entities:
        for f in e.fields:
            f.options.pop("on_delete", None)
    for v in heavy.views:
        v.sort = ["f8"]
    heavy_report = run_scan(ScanContext(app=heavy), rules)
    scan_heavy = timed(lambda: run_scan(ScanContext(app=heavy), rules))
    for figure, value, n in (("health_scan_full_cold_s", scan_cold, len(report.findings)),
                             ("health_scan_full_warm_s", scan_warm, len(report.findings)),
                             ("health_scan_400_findings_s", scan_heavy, len(heavy_report.findings))):
        print(json.dumps({"figure": figure, "value": round(value, 4), "unit": "s",
                          "baseline": "validate_app (spec validation) of the same app",
                          "baseline_value": round(baseline, 4), "ratio": round(value / baseline, 2),
                          "app": f"{ENTITIES} entities / {n_fields} fields / {WORKFLOWS} workflows",
                          "rules": len(rules), "findings": n, "target_s": 1.0}))


if __name__ == "__main__":
    main()
