"""Type checking: resolve names against an entity, give every node a type, and refuse
what is wrong with a position and a "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from jimu.core.errors import ExpressionError
from jimu.platform.expressions import types as ty
from jimu.platform.expressions.nodes import Node
from jimu.platform.expressions.types import T
from jimu.platform.specs.app import AppSpec
from jimu.platform.specs.entity import EntitySpec
from jimu.platform.specs.fields import FieldSpec

__all__ = ["Checker", "SQL_PURPOSES", "BOOLEAN_PURPOSES", "PURPOSES", "MAX_POWER"]

SQL_PURPOSES = frozenset({"row_filter", "view_filter", "stored_formula"})
BOOLEAN_PURPOSES = frozenset({"row_filter", "view_filter", "validation", "guard", "visibility", "condition"})
PURPOSES = SQL_PURPOSES | BOOLEAN_PURPOSES | {"formula", "default", "mask"}
MAX_POWER = 64
VAR_TYPES = {"user": ty.TEXT, "now": ty.DATETIME, "today": ty.DATE}


def suggest(name: str, candidates: list[str]) -> str | None:
    """A "did you mean" hint for ``name`` among ``candidates``."""
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return f"did you mean {lowered[name.lower()]}?"
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(close) + "?"
    return None


def lit_type(value: object) -> T:
    if value is None:
        return ty.NULL
    if isinstance(value, bool):
        return ty.BOOLEAN
    if isinstance(value, int):
        return ty.INTEGER
    if isinstance(value, Decimal):
        return ty.DECIMAL
    if isinstance(value, str):
        return ty.TEXT
    if isinstance(value, datetime):
        return ty.DATETIME
    if isinstance(value, date):
        return ty.DATE
    return ty.ANY


class Checker:
    """Types one parsed tree against ``entity`` of ``app`` for ``purpose``."""

    def __init__(self, source: str, app: AppSpec, entity: str | None, purpose: str,
                 extra_names: Mapping[str, str] | None = None) -> None:
        from jimu.platform.expressions.functions import registry

        self.source, self.app, self.purpose = source, app, purpose
        self.functions = registry()
        self.extra = {k: ty.field_value_type(v) for k, v in (extra_names or {}).items()}
        self.entity: EntitySpec | None = None
        if entity is not None:
            self.entity = app.entity(entity)
            if self.entity is None:
                raise ExpressionError(f"unknown entity '{entity}'", code="expression.unknown_name",
                                      source=source, hint=suggest(entity, [e.name for e in app.entities]))
        if purpose not in PURPOSES:
            raise ExpressionError(f"unknown expression purpose '{purpose}'", code="expression.invalid",
                                  source=source, hint=suggest(purpose, sorted(PURPOSES)))
        self.dependencies: set[str] = set()
        self.paths: set[str] = set()
        self.python_only: list[tuple[str, Node]] = []
        self.loops = False

    # errors ------------------------------------------------------------------------
    def fail(self, msg: str, node: Node, code: str = "expression.type", hint: str | None = None) -> ExpressionError:
        return ExpressionError(msg, code=code, position=node.pos, hint=hint, source=self.source)

    def need(self, node: Node, ok: bool, what: str) -> None:
        if not ok:
            raise self.fail(f"{what} expected, got {node.type}", node)

    # entry -------------------------------------------------------------------------
    def check(self, root: Node) -> Node:
        """Type ``root`` in place and apply the purpose's rules; returns the root."""
        self.visit(root)
        if self.purpose in BOOLEAN_PURPOSES and root.type.name not in ("boolean", "null", "any"):
            raise self.fail(f"a {self.purpose.replace('_', ' ')} must be true or false, got {root.type}", root,
                            hint="compare the value, e.g. amount > 0")
        if self.purpose in SQL_PURPOSES and self.python_only:
            what, node = self.python_only[0]
            raise self.fail(f"{what} cannot run in SQL, so it cannot be used in a "
                            f"{self.purpose.replace('_', ' ')}", node, code="expression.not_sql")
        return root

    def visit(self, n: Node) -> T:
        handler = getattr(self, "v_" + n.kind)
        t: T = handler(n)
        n.type = t
        return t

    # leaves ------------------------------------------------------------------------
    def v_lit(self, n: Node) -> T:
        return lit_type(n.value)

    def fields(self, entity: EntitySpec | None) -> list[FieldSpec]:
        return entity.active_fields if entity is not None else []

    def by_label(self, label: str, entity: EntitySpec | None, n: Node) -> FieldSpec | None:
        hits = [f for f in self.fields(entity)
                if label in (f.label.zh, f.label.en) or (f.label.en and f.label.en.lower() == label.lower())]
        if len(hits) > 1:
            raise self.fail(f"label '{label}' is ambiguous: " + ", ".join(f.name for f in hits), n,
                            code="expression.unknown_name", hint="write the field name instead")
        return hits[0] if hits else None

    def lookup_field(self, name: str, entity: EntitySpec | None, n: Node, label: bool = False) -> FieldSpec:
        f = None if label else next((x for x in self.fields(entity) if x.name == name), None)
        if f is None:
            f = self.by_label(name, entity, n)
        if f is None:
            names = [x.name for x in self.fields(entity)]
            labels = [x.label.zh for x in self.fields(entity) if x.label.zh] + \
                     [x.label.en for x in self.fields(entity) if x.label.en]
            wants_label = label or not name.isascii()
            cands = (labels + names) if wants_label else names + ([] if entity is not self.entity else list(self.extra))
            where = f" of {entity.name}" if entity is not None else ""
            raise self.fail(f"unknown {'label' if label else 'name'} '{name}'{where}", n,
                            code="expression.unknown_name", hint=suggest(name, cands))
        return f

    def v_name(self, n: Node) -> T:
        name = str(n.value)
        if n.op == "$":
            if name not in VAR_TYPES:
                raise self.fail(f"unknown variable ${name}", n, code="expression.unknown_name",
                                hint=suggest(name, [*VAR_TYPES, "user.roles"]) or "use $user, $now or $today")
            n.kind, n.op = "var", ""
            return VAR_TYPES[name]
        if n.op != "label" and name in self.extra and (self.entity is None or self.entity.field(name) is None):
            n.kind = "extra"
            return self.extra[name]
        if n.op != "label" and name in self.functions:
            raise self.fail(f"{name} is a function", n, hint=f"call it: {name}(...)")
        f = self.lookup_field(name, self.entity, n, label=n.op == "label")
        n.op = ""
        self.dependencies.add(f.name)
        self.paths.add(f.name)
        if f.type == "child_table":
            n.kind, n.value = "childcol", (f.name, None)
            self.loops = True
        else:
            n.kind, n.value = "field", f.name
        return ty.field_value_type(f.value_type, f.target)

    def v_attr(self, n: Node) -> T:
        chain: list[Node] = []
        cur = n
        while cur.kind == "attr":
            chain.append(cur)
            cur = cur.args[0]
        chain.reverse()
        root = cur
        if root.kind != "name":
            raise self.fail("attributes are only allowed on fields and $user", n, code="expression.forbidden")
        names = [str(a.value) for a in chain]
        if root.op == "$":
            if root.value != "user" or len(names) != 1:
                raise self.fail(f"${root.value}.{'.'.join(names)} is not available", n, code="expression.unknown_name",
                                hint="use $user.roles or $user.<attribute>")
            n.args = []
            if names[0] == "roles":
                n.kind, n.value = "var", "roles"
                return T("list", elem="text")
            n.kind, n.value = "userattr", names[0]
            return ty.ANY
        first = self.lookup_field(str(root.value), self.entity, root, label=root.op == "label")
        steps = [first]
        entity = self.entity
        for i, name in enumerate(names):
            prev = steps[-1]
            if prev.type == "child_table" and i == 0 and len(names) == 1:
                child = self.app.entity(prev.target or "")
                col = self.lookup_field(name, child, chain[i])
                self.dependencies.add(first.name)
                self.paths.add(f"{first.name}.{col.name}")
                n.kind, n.value, n.args = "childcol", (first.name, col.name), []
                self.loops = True
                return T("list", elem=ty.field_value_type(col.value_type, col.target).name)
            if prev.type != "link":
                raise self.fail(f"'{prev.name}' is not a link, so '.{name}' cannot follow it", chain[i],
                                hint="only link fields can be traversed with '.'")
            entity = self.app.entity(prev.target or "")
            if entity is None:
                raise self.fail(f"link '{prev.name}' points to unknown entity '{prev.target}'", chain[i],
                                code="expression.unknown_name")
            steps.append(self.lookup_field(name, entity, chain[i]))
        last = steps[-1]
        if last.type == "child_table":
            raise self.fail("child tables can only be read on the record itself", n)
        self.dependencies.add(first.name)
        self.paths.add(".".join(f.name for f in steps))
        n.kind, n.value, n.args = "path", tuple(f.name for f in steps), []
        return ty.field_value_type(last.value_type, last.target)

    # operators ---------------------------------------------------------------------
    def v_unary(self, n: Node) -> T:
        t = self.visit(n.args[0])
        if n.op == "not":
            self.need(n.args[0], t.name in ("boolean", "null", "any"), "true/false")
            return ty.BOOLEAN
        self.need(n.args[0], ty.is_numeric(t), "a number")
        return ty.INTEGER if t.name in ("integer", "duration") else (t if t.name in ty.NUMERIC else ty.DECIMAL)

    def v_bin(self, n: Node) -> T:
        a, b = self.visit(n.args[0]), self.visit(n.args[1])
        if n.op == "+" and ty.is_text(a) and ty.is_text(b) and "text" in (ty.family(a), ty.family(b)):
            return ty.TEXT
        if n.op == "*" and (a.name in ty.TEXTUAL or b.name in ty.TEXTUAL):
            raise self.fail("text cannot be multiplied", n, hint="repeating text is not supported")
        for side, t in ((n.args[0], a), (n.args[1], b)):
            self.need(side, ty.is_numeric(t), f"a number for '{n.op}'")
        if n.op == "%":
            for side, t in ((n.args[0], a), (n.args[1], b)):
                self.need(side, t.name in ("integer", "duration", "null"), "a whole number for '%'")
            return ty.INTEGER
        if n.op == "**":
            e = n.args[1]
            if e.kind != "lit" or not isinstance(e.value, int) or isinstance(e.value, bool) \
                    or not 0 <= e.value <= MAX_POWER:
                raise self.fail(f"the exponent must be a whole number from 0 to {MAX_POWER}", e,
                                code="expression.too_large")
            return ty.INTEGER if a.name in ("integer", "duration") else (a if a.name in ty.NUMERIC else ty.DECIMAL)
        return ty.numeric_result(a, b, n.op)

    def v_cmp(self, n: Node) -> T:
        a, b = self.visit(n.args[0]), self.visit(n.args[1])
        ordering = n.op not in ("==", "!=")
        if not ty.comparable(a, b, ordering=ordering):
            raise self.fail(f"cannot compare {a} with {b}", n.args[1], hint=self.compare_hint(a, b))
        return ty.BOOLEAN

    @staticmethod
    def compare_hint(a: T, b: T) -> str | None:
        if {a.name, b.name} <= {"date", "datetime"}:
            return 'convert with DATE(...) literals or compare with $today / $now'
        if "text" in (ty.family(a), ty.family(b)):
            return 'quote text values, e.g. state == "draft"'
        return None

    def v_in(self, n: Node) -> T:
        a, b = self.visit(n.args[0]), self.visit(n.args[1])
        if ty.family(b) == "text" and ty.family(a) in ("text", "null", "any"):
            return ty.BOOLEAN
        if n.args[1].kind == "list":
            for item in n.args[1].args:
                if not ty.comparable(a, item.type):
                    raise self.fail(f"cannot compare {a} with {item.type}", item)
            return ty.BOOLEAN
        if b.name == "any" or (b.name == "list" and n.args[1].kind in ("var", "userattr", "extra")):
            return ty.BOOLEAN
        if b.name == "list" and b.elem is not None and n.args[1].kind == "field":
            self.python_only.append((f"'in' on the list field '{n.args[1].value}'", n))
            return ty.BOOLEAN
        raise self.fail(f"'in' needs a list like [\"a\", \"b\"] or text, got {b}", n.args[1])

    def v_bool(self, n: Node) -> T:
        for a in n.args:
            self.need(a, self.visit(a).name in ("boolean", "null", "any"), f"true/false for '{n.op}'")
        return ty.BOOLEAN

    def v_if(self, n: Node) -> T:
        c = self.visit(n.args[0])
        self.need(n.args[0], c.name in ("boolean", "null", "any"), "a true/false condition")
        self.visit(n.args[1])
        self.visit(n.args[2])
        return self.unify_args(n, n.args[1:])

    def unify_args(self, n: Node, args: list[Node]) -> T:
        types = [a.type for a in args]
        t = ty.unify(types)
        if t is None:
            raise self.fail("the alternatives have different types: " + ", ".join(map(str, types)), n)
        return t

    def v_list(self, n: Node) -> T:
        for a in n.args:
            self.visit(a)
        t = self.unify_args(n, n.args) if n.args else ty.NULL
        return T("list", elem=t.name)

    def v_call(self, n: Node) -> T:
        name = str(n.value)
        fn = self.functions.get(name)
        if fn is None:
            raise self.fail(f"unknown function {name}()", n, code="expression.unknown_name",
                            hint=suggest(name.upper() if name.upper() in self.functions else name,
                                         sorted(self.functions)) if name.upper() not in self.functions
                            else f"did you mean {name.upper()}?")
        if len(n.args) < fn.min_args or (fn.max_args is not None and len(n.args) > fn.max_args):
            want = (str(fn.min_args) if fn.max_args == fn.min_args else
                    f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
            raise self.fail(f"{name}() takes {want} arguments, got {len(n.args)}", n, code="expression.arity",
                            hint=fn.signature)
        for a in n.args:
            self.visit(a)
        if fn.python_only:
            self.python_only.append((f"{name}()", n))
        return fn.check(self, n)
