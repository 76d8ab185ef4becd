"""Dependency analysis: which formulas read which fields, in what order to recalculate
them, and formula cycles as findings."""

from __future__ import annotations

from jimu.core.errors import ExpressionError
from jimu.platform.findings import Finding
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec

__all__ = ["formula_graph", "recalculation_order", "check_formula_cycles"]


def formula_graph(app: AppSpec, entity: EntitySpec) -> dict[str, list[str]]:
    """formula field -> the formula fields of the same entity it reads (expressions that do
    not compile are left out; the expression validator reports them)."""
    from jimu.platform.expressions.compiled import compile_expression

    formulas = {f.name: f for f in entity.active_fields if f.type == "formula" and f.expression}
    graph: dict[str, list[str]] = {}
    for name, f in formulas.items():
        try:
            ce = compile_expression(f.expression or "", app, entity.name, purpose="formula")
        except ExpressionError:
            graph[name] = []
            continue
        graph[name] = sorted(d for d in ce.dependencies if d in formulas)
    return graph


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):]
                k = cycle.index(min(cycle))
                norm = tuple(cycle[k:] + cycle[:k])
                if norm not in seen:
                    seen.add(norm)
                    found.append(list(norm))
            elif state.get(nxt) is None:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def recalculation_order(app: AppSpec, entity: EntitySpec) -> list[str]:
    """Formula fields of ``entity`` in an order where each comes after what it reads
    (fields in a cycle are left out)."""
    graph = formula_graph(app, entity)
    in_cycle = {n for c in _cycles(graph) for n in c}
    order: list[str] = []
    done: set[str] = set()

    def place(node: str) -> None:
        if node in done or node in in_cycle:
            return
        done.add(node)
        for dep in graph.get(node, []):
            place(dep)
        order.append(node)

    for node in graph:
        place(node)
    return order


def check_formula_cycles(app: AppSpec) -> list[Finding]:
    """One EXPR-E010 finding per formula cycle, naming it (``a -> b -> a``)."""
    findings = []
    for entity in app.entities:
        for cycle in _cycles(formula_graph(app, entity)):
            text = " -> ".join([*cycle, cycle[0]])
            findings.append(Finding(
                "EXPR-E010", "error", f"entities.{entity.name}.fields.{cycle[0]}.options.expression",
                f"formula cycle in {entity.name}: {text}",
                "a formula cannot depend on itself; compute one of them from stored fields"))
    return findings
