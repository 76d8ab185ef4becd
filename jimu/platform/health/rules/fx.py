"""FX: formulas — expression errors, cycles, volatile functions in stored formulas,
rounding money to the wrong scale, float-like literals, unguarded division."""

from __future__ import annotations

import re
from collections.abc import Iterator

from jimu.platform.health.model import Hit, Rule, ScanContext
from jimu.platform.health.rules._util import (
    compile_or_error,
    expr_functions,
    expr_identifiers,
    expressions_api,
    formula_fields,
)
from jimu.platform.specs import EntitySpec

__all__ = ["RULES", "VOLATILE"]

VOLATILE = frozenset({"NOW", "TODAY", "HOURS_SINCE"})


def check_formula_errors(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        for f in formula_fields(ent):
            error = compile_or_error(ctx, f.expression or "", ent, "formula")
            if error:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}.options.expression",
                                f"formula of '{ent.name}.{f.name}' does not compile: {error}"))
    return hits


def _expressions(ctx: ScanContext) -> Iterator[tuple[str, str, EntitySpec, str, str, dict[str, str]]]:
    """(element, path, entity, source, purpose, extra names) of every non-formula expression;
    a transition's guard may also read the transition's inputs."""
    app = ctx.app
    for ent in ctx.entities.values():
        for f in ent.active_fields:
            if f.validation:
                yield (f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}.validation",
                       ent, f.validation.expression, "validation", {})
    for view in app.views:
        target = ctx.entities.get(view.entity)
        if view.filter and target:
            yield f"view:{view.name}", f"views.{view.name}.filter", target, view.filter, "view_filter", {}
    for role in app.roles:
        for ename, rights in role.entities.items():
            target = ctx.entities.get(ename)
            if rights.row_filter and target:
                yield (f"role:{role.name}", f"roles.{role.name}.entities.{ename}.row_filter", target,
                       rights.row_filter, "row_filter", {})
    for wf in app.workflows:
        target = ctx.entities.get(wf.entity)
        for t in wf.transitions:
            if t.guard and target:
                inputs = {i.name: i.value_type for i in t.inputs}
                yield (f"transition:{wf.name}.{t.name}", f"workflows.{wf.name}.transitions.{t.name}.guard",
                       target, t.guard, "guard", inputs)
    for auto in app.automations:
        target = ctx.entities.get(auto.entity or "")
        if auto.condition and target:
            yield (f"automation:{auto.name}", f"automations.{auto.name}.condition", target, auto.condition,
                   "condition", {})


def check_expression_errors(ctx: ScanContext) -> list[Hit]:
    hits = []
    for element, path, ent, source, purpose, extra in _expressions(ctx):
        error = compile_or_error(ctx, source, ent, purpose, extra)
        if error:
            hits.append(Hit(element, path, f"{purpose} expression of {element} does not compile: {error}"))
    return hits


def _local_cycles(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        graph = {f.name: expr_identifiers(f.expression or "") for f in formula_fields(ent)}
        for start in graph:
            stack, seen = [(start, [start])], set()
            while stack:
                node, trail = stack.pop()
                for nxt in graph.get(node, ()):
                    if nxt == start:
                        hits.append(Hit(f"field:{ent.name}.{start}", f"entities.{ent.name}.fields.{start}",
                                        f"formula cycle: {' → '.join([*trail, start])}"))
                        stack = []
                        break
                    if nxt in graph and nxt not in seen:
                        seen.add(nxt)
                        stack.append((nxt, [*trail, nxt]))
    return hits


def check_cycles(ctx: ScanContext) -> list[Hit]:
    check_formula_cycles = expressions_api("check_formula_cycles")
    if check_formula_cycles is None:
        ctx.note("check_formula_cycles not available: FX-02 used the scanner's own dependency walk")
        return _local_cycles(ctx)
    hits = []
    for finding in check_formula_cycles(ctx.app):
        parts = finding.path.split(".")
        element = f"field:{parts[1]}.{parts[3]}" if len(parts) >= 4 and parts[0] == "entities" else "app"
        hits.append(Hit(element, finding.path, finding.message))
    return hits


def _stored_formulas(ctx: ScanContext) -> Iterator[tuple[EntitySpec, str, str]]:
    for ent in ctx.entities.values():
        for f in formula_fields(ent):
            if f.options.get("stored", True):
                yield ent, f.name, f.expression or ""


def check_volatile(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent, name, source in _stored_formulas(ctx):
        used = sorted(expr_functions(source) & VOLATILE) + sorted(set(re.findall(r"\$(now|today)\b", source)))
        if used:
            hits.append(Hit(f"field:{ent.name}.{name}", f"entities.{ent.name}.fields.{name}.options.expression",
                            f"stored formula '{ent.name}.{name}' uses {', '.join(used)}: the stored value goes stale"))
    return hits


_ROUND = re.compile(r"ROUND\s*\((?:[^()]|\([^()]*\))*?,\s*(-?\d+)\s*\)")
_LITERAL = re.compile(r"(?<![\w.])(\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)")


def check_money_rounding(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        for f in formula_fields(ent):
            if f.value_type != "money":
                continue
            scale = int(f.options.get("scale", 2))
            source = f.expression or ""
            problems = [f"ROUND to {n} places (field scale {scale})" for n in _ROUND.findall(source)
                        if int(n) != scale]
            for lit in _LITERAL.findall(source):
                if "e" in lit.lower() or len(lit.split(".", 1)[1]) > 6:
                    problems.append(f"float-like literal {lit}")
            if problems:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}.options.expression",
                                f"money formula '{ent.name}.{f.name}': {'; '.join(problems)}"))
    return hits


_DIVISION = re.compile(r"/\s*([a-z_][a-z0-9_.]*)")


def check_division(ctx: ScanContext) -> list[Hit]:
    hits = []
    for ent in ctx.entities.values():
        for f in formula_fields(ent):
            source = f.expression or ""
            guarded = expr_functions(source) & {"IF", "COALESCE", "MAX", "ISBLANK"} or " if " in source
            divisors = sorted(set(_DIVISION.findall(source)))
            if divisors and not guarded:
                hits.append(Hit(f"field:{ent.name}.{f.name}", f"entities.{ent.name}.fields.{f.name}.options.expression",
                                f"'{ent.name}.{f.name}' divides by {', '.join(divisors)} without a zero guard"))
    return hits


RULES = [
    Rule("FX-01", "FX", "critical", "公式无法编译", "Formula does not compile", check_formula_errors,
         "Fix the expression (the message points at the position); a broken stored formula blocks saving records."),
    Rule("FX-02", "FX", "critical", "公式循环引用", "Formula cycle", check_cycles,
         "Break the cycle: one of the fields must be an input, not a formula."),
    Rule("FX-03", "FX", "high", "存储公式使用易变函数", "Volatile function in stored formula", check_volatile,
         "Compute time-dependent values in views or set the formula to not stored (options.stored = false)."),
    Rule("FX-04", "FX", "medium", "金额公式舍入/字面量不当", "Money formula with wrong rounding", check_money_rounding,
         "ROUND money to the field's scale and write exact decimal literals."),
    Rule("FX-05", "FX", "high", "校验/过滤/条件表达式错误", "Rule expression does not compile", check_expression_errors,
         "Fix the validation, filter, guard or condition expression."),
    Rule("FX-06", "FX", "low", "除法未防零", "Division without zero guard", check_division,
         "Wrap the division: IF(qty == 0, 0, amount / qty)."),
]
