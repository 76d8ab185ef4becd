"""The Python back end: a checked tree -> a Python function, built once per expression.

The tree is turned into the source of one small function whose only names are Jimu's
helpers (:mod:`jimu.platform.expressions.runtime`), the record ``r`` and the environment;
literals are passed as constants, never pasted as text, so nothing the user wrote is ever
executed as Python. The result runs at close to native speed (see
``benchmarks/bench_expressions.py``) and is bounded: the tree itself is bounded in size and
depth by the parser, exponents are small constants, text results are capped, and
evaluations that follow links or loop over child rows carry a wall-clock budget.

It does not use simpleeval (DESIGN section 5 once said "simpleeval-based"): simpleeval
evaluates Python source by walking Python's own AST on every call, while Jimu's parser
already produces a checked, typed tree in its own grammar (functions, ``$user``,
``link.field``, NULL rules shared with the SQL back end); handing that to simpleeval would
mean printing it back to Python source and re-parsing it, with weaker bounds than these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jimu.platform.expressions import runtime as rt
from jimu.platform.expressions.functions import BUILTINS, FunctionDef, registry
from jimu.platform.expressions.nodes import Node

__all__ = ["build_function"]

_ARITH = {"+", "-", "*"}


class _Gen:
    def __init__(self, app_entities: dict[str, dict[str, str | None]]) -> None:
        self.consts: dict[str, Any] = {}
        self.names: dict[str, Any] = dict(rt.HELPERS)
        self.links = app_entities
        self.tmp = 0

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def var(self) -> str:
        self.tmp += 1
        return f"_t{self.tmp}"

    def strict2(self, a: str, b: str, op: str) -> str:
        x, y = self.var(), self.var()
        return f"(None if ({x} := {a}) is None or ({y} := {b}) is None else {x} {op} {y})"

    def gen(self, n: Node) -> str:
        out: str = getattr(self, "g_" + n.kind)(n)
        return out

    def g_lit(self, n: Node) -> str:
        if n.value is None or isinstance(n.value, bool) or type(n.value) is int:
            return repr(n.value)
        return self.const(n.value)

    def g_field(self, n: Node) -> str:
        return f"r.get({self.const(str(n.value))})"

    def g_path(self, n: Node) -> str:
        steps = []
        entity_fields = self.links.get("", {})
        for name in n.value:
            target = entity_fields.get(name)
            steps.append((name, target or ""))
            entity_fields = self.links.get(target or "", {})
        return f"_path(r, env, _b, {self.const(tuple(steps))})"

    def g_childcol(self, n: Node) -> str:
        field, col = n.value
        return f"_child(r.get({self.const(field)}), {self.const(col)}, _b)"

    def g_var(self, n: Node) -> str:
        return {"user": "env.user", "now": "_now", "today": "_today(_now)", "roles": "env.roles"}[str(n.value)]

    def g_userattr(self, n: Node) -> str:
        return f"env.user_attrs.get({self.const(str(n.value))})"

    def g_extra(self, n: Node) -> str:
        return f"env.extra.get({self.const(str(n.value))})"

    def g_unary(self, n: Node) -> str:
        a = self.gen(n.args[0])
        if n.op == "not":
            return f"_not({a})"
        x = self.var()
        return f"(None if ({x} := {a}) is None else {n.op}{x})"

    def g_bin(self, n: Node) -> str:
        a, b = self.gen(n.args[0]), self.gen(n.args[1])
        if n.op == "+" and n.type.name == "text":
            return f"_tcat({a}, {b})"
        if n.op == "/":
            return f"_div({a}, {b})"
        if n.op == "%":
            return f"_mod({a}, {b})"
        if n.op == "**":
            x = self.var()
            out = f"(None if ({x} := {a}) is None else {x} ** {int(n.args[1].value)})"
        else:
            out = self.strict2(a, b, n.op)
        return f"_ichk({out})" if n.type.name == "integer" and n.op in ("*", "**", "+", "-") else out

    def g_cmp(self, n: Node) -> str:
        left, right = n.args
        if n.op in ("==", "!=") and (left.kind == "lit" and left.value is None
                                     or right.kind == "lit" and right.value is None):
            other = right if left.kind == "lit" and left.value is None else left
            return f"({self.gen(other)} is {'' if n.op == '==' else 'not '}None)"
        return self.strict2(self.gen(left), self.gen(right), n.op)

    def g_in(self, n: Node) -> str:
        fn = "_in" if n.op == "in" else "_notin"
        return f"{fn}({self.gen(n.args[0])}, {self.gen(n.args[1])})"

    def g_bool(self, n: Node) -> str:
        return f"_{n.op}(" + ", ".join(self.gen(a) for a in n.args) + ")"

    def g_if(self, n: Node) -> str:
        c, a, b = (self.gen(x) for x in n.args)
        return f"({a} if {c} else {b})"

    def g_list(self, n: Node) -> str:
        return "[" + ", ".join(self.gen(a) for a in n.args) + "]"

    def g_call(self, n: Node) -> str:
        name = str(n.value)
        fn: FunctionDef = BUILTINS.get(name) or registry()[name]
        ident = f"_f_{name}"
        self.names[ident] = fn.py
        args = [self.gen(a) for a in n.args]
        if fn.needs_now:
            args.append("_now")
        return f"{ident}({', '.join(args)})"


def build_function(root: Node, links: dict[str, dict[str, str | None]]) -> Callable[..., Any]:
    """Compile the checked tree into ``f(r, env, _b, _now)``. ``links`` maps entity name
    ("" for the base entity) to {link field: target entity} for path traversal."""
    gen = _Gen(links)
    body = gen.gen(root)
    namespace: dict[str, Any] = {"__builtins__": {}, "_today": rt.f_today}
    namespace.update(gen.names)
    namespace.update(gen.consts)
    code = compile(f"def _expr(r, env, _b, _now):\n    return {body}\n", "<jimu-expression>", "exec")
    exec(code, namespace)  # noqa: S102 - the text is generated from the checked tree only
    fn: Callable[..., Any] = namespace["_expr"]
    return fn
