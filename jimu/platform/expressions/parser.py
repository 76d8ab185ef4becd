"""Parsing: source text -> :class:`Node` tree, with positions in the user's source.

The language is a subset of Python expressions, so parsing reuses ``ast.parse`` after a
position-keeping pre-pass:

* ``$user``, ``$now``, ``$today`` (``$`` is not Python) become reserved identifiers
  ``_user`` ... of the same length; user field names never start with ``_``.
* ``[成本价]`` / ``[Cost Price]`` (a label in brackets, not a list) becomes a placeholder
  identifier resolved by the checker against the entity's field labels.

Everything outside the subset (attribute access other than ``link.field``, subscripts,
lambdas, comprehensions, keyword arguments, method calls, f-strings...) is refused here
with an :class:`~jimu.core.errors.ExpressionError` naming the position.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from jimu.core import pyast
from jimu.core.errors import ExpressionError
from jimu.platform.expressions.nodes import Node

__all__ = ["parse", "Parsed", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH", "MAX_NESTING"]

MAX_LENGTH = 4000
MAX_NODES = 1000
MAX_DEPTH = 60
MAX_NESTING = 40
VARIABLES = frozenset({"user", "now", "today"})
KEYWORD_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}

_LABEL_BAD = re.compile(r"[\[\](),'\"+\-*/<>=!%$]")
_PLAIN = re.compile(r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*|[0-9.]+)\s*$")

_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%", ast.Pow: "**"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FORBIDDEN = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.Subscript: "subscripts (x[...]) are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.Starred: "*args are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
}


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: its tree and the labels written as ``[label]``."""

    source: str
    root: Node
    labels: dict[str, str]


def _err(msg: str, source: str, pos: int | None, code: str = "expression.syntax",
         hint: str | None = None) -> ExpressionError:
    return ExpressionError(msg, code=code, position=pos, hint=hint, source=source)


def _prepass(source: str) -> tuple[str, list[int], dict[str, str], set[int]]:
    """Rewrite ``$name`` and ``[label]``; return new text, a map new offset -> user
    offset, the placeholder labels and the user offsets of ``$`` variables."""
    out: list[str] = []
    posmap: list[int] = []
    labels: dict[str, str] = {}
    dollars: set[int] = set()
    i, n, depth, quote = 0, len(source), 0, ""
    while i < n:
        ch = source[i]
        if quote:
            out.append(ch)
            posmap.append(i)
            if ch == "\\" and i + 1 < n:
                out.append(source[i + 1])
                posmap.append(i + 1)
                i += 2
                continue
            if ch == quote:
                quote = ""
            i += 1
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "$":
            if i + 1 >= n or not (source[i + 1].isalpha() or source[i + 1] == "_"):
                raise _err("'$' must be followed by a name such as $user, $now or $today", source, i)
            dollars.add(i)
            out.append("_")
            posmap.append(i)
            i += 1
            continue
        elif ch == "[":
            end = source.find("]", i + 1)
            content = source[i + 1:end] if end > 0 else ""
            if end > 0 and content.strip() and not _LABEL_BAD.search(content) and not _PLAIN.match(content):
                name = f"_l{len(labels)}"
                labels[name] = content.strip()
                out.append(name)
                posmap.extend([i] * len(name))
                i = end + 1
                continue
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise _err(f"expression nested too deeply (more than {MAX_NESTING} brackets)", source, i,
                           code="expression.too_complex")
        elif ch in ")]}":
            depth -= 1
        out.append(ch)
        posmap.append(i)
        i += 1
    posmap.append(n)
    return "".join(out), posmap, labels, dollars


class _Converter:
    def __init__(self, source: str, text: str, posmap: list[int], labels: dict[str, str],
                 dollars: set[int]) -> None:
        self.source, self.text, self.posmap, self.labels, self.dollars = source, text, posmap, labels, dollars
        self.count = 0
        lines = text.split("\n")
        self.line_starts = [0]
        for line in lines[:-1]:
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)
        self.line_bytes = [line.encode("utf-8") for line in lines]

    def offset(self, lineno: int, col: int) -> int:
        """User offset of a (1-based line, UTF-8 byte column) position in the new text."""
        li = max(0, min(lineno - 1, len(self.line_bytes) - 1))
        chars = len(self.line_bytes[li][:col].decode("utf-8", errors="ignore"))
        k = min(self.line_starts[li] + chars, len(self.posmap) - 1)
        return self.posmap[k]

    def pos(self, node: ast.AST) -> int:
        return self.offset(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def err(self, msg: str, node: ast.AST, code: str = "expression.forbidden", hint: str | None = None) -> ExpressionError:
        return _err(msg, self.source, self.pos(node), code=code, hint=hint)

    def conv(self, node: ast.AST, depth: int = 0) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.err(f"expression too large (more than {MAX_NODES} parts)", node, "expression.too_complex")
        if depth > MAX_DEPTH:
            raise self.err(f"expression nested too deeply (more than {MAX_DEPTH} levels)", node,
                           "expression.too_complex")
        p, d = self.pos(node), depth + 1
        if isinstance(node, ast.Constant):
            return Node("lit", p, value=self.constant(node))
        if isinstance(node, ast.Name):
            return self.name(node, p)
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise self.err(f"attribute '{node.attr}' is not allowed", node,
                               hint="only link.field traversal and $user.<attribute> are allowed")
            if not isinstance(node.value, ast.Name | ast.Attribute):
                raise self.err("attribute access is only allowed on fields (link.field) and $user", node,
                               hint="methods and attributes of values cannot be used; use the functions")
            return Node("attr", p, value=node.attr, args=[self.conv(node.value, d)])
        if isinstance(node, ast.UnaryOp):
            op = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}.get(type(node.op))
            if op is None:
                raise self.err("operator '~' is not allowed", node)
            return Node("unary", p, op=op, args=[self.conv(node.operand, d)])
        if isinstance(node, ast.BinOp):
            op = _BIN.get(type(node.op))
            if op is None:
                raise self.err(f"operator {type(node.op).__name__} is not allowed", node,
                               hint="use + - * / % ** and the functions (FLOOR(a / b) for integer division)")
            return Node("bin", p, op=op, args=[self.conv(node.left, d), self.conv(node.right, d)])
        if isinstance(node, ast.BoolOp):
            return Node("bool", p, op="and" if isinstance(node.op, ast.And) else "or",
                        args=[self.conv(v, d) for v in node.values])
        if isinstance(node, ast.Compare):
            return self.compare(node, p, d)
        if isinstance(node, ast.IfExp):
            return Node("if", p, args=[self.conv(node.test, d), self.conv(node.body, d), self.conv(node.orelse, d)])
        if isinstance(node, ast.Call):
            return self.call(node, p, d)
        if isinstance(node, ast.List | ast.Tuple):
            return Node("list", p, args=[self.conv(e, d) for e in node.elts])
        for cls, msg in _FORBIDDEN.items():
            if isinstance(node, cls):
                raise self.err(msg, node)
        raise self.err(f"{type(node).__name__} is not allowed in an expression", node)

    def constant(self, node: ast.Constant) -> object:
        v = node.value
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            if abs(v) >= 2**63:
                raise self.err("integer literal out of range", node, "expression.too_large")
            return v
        if isinstance(v, float):
            text = (ast.get_source_segment(self.text, node) or repr(v)).replace("_", "")
            try:
                d = Decimal(text)
            except InvalidOperation:
                d = Decimal(repr(v))
            if not d.is_finite() or abs(d.adjusted()) > 30:
                raise self.err("number literal out of range", node, "expression.too_large")
            return d
        raise self.err(f"{type(v).__name__} literals are not allowed", node)

    def name(self, node: ast.Name, p: int) -> Node:
        ident = node.id
        if ident in self.labels:
            return Node("name", p, op="label", value=self.labels[ident])
        if ident.startswith("_"):
            if p in self.dollars:
                return Node("name", p, op="$", value=ident[1:])
            raise self.err(f"name '{ident}' is not allowed (names cannot start with '_')", node)
        if ident in KEYWORD_LITERALS:
            return Node("lit", p, value=KEYWORD_LITERALS[ident])
        return Node("name", p, value=ident)

    def compare(self, node: ast.Compare, p: int, d: int) -> Node:
        parts: list[Node] = []
        left = self.conv(node.left, d)
        for op, right_ast in zip(node.ops, node.comparators, strict=True):
            right = self.conv(right_ast, d)
            if isinstance(op, ast.In | ast.NotIn):
                parts.append(Node("in", p, op="in" if isinstance(op, ast.In) else "not in", args=[left, right]))
            elif type(op) in _CMP:
                parts.append(Node("cmp", p, op=_CMP[type(op)], args=[left, right]))
            else:
                raise self.err("'is' is not allowed", node, hint="use == null / != null or ISBLANK(x)")
            left = self.conv(right_ast, d)  # a fresh copy: a chain shares the middle operand
        return parts[0] if len(parts) == 1 else Node("bool", p, op="and", args=parts)

    def call(self, node: ast.Call, p: int, d: int) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.err("only the built-in UPPERCASE functions can be called", node,
                           hint="methods of values (like .format or .upper) are not available")
        fname = node.func.id
        if node.keywords:
            raise self.err("keyword arguments are not allowed", node)
        if fname in ("DATE", "DATETIME") and len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
            return Node("lit", p, value=self.date_literal(fname, node.args[0]))
        return Node("call", p, value=fname, args=[self.conv(a, d) for a in node.args])

    def date_literal(self, fname: str, arg: ast.Constant) -> date | datetime:
        text = arg.value
        try:
            if not isinstance(text, str):
                raise ValueError(text)
            if fname == "DATE":
                return date.fromisoformat(text)
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise ValueError("no timezone")
            return value
        except ValueError:
            example = '"2026-01-31"' if fname == "DATE" else '"2026-01-31T09:30:00+08:00"'
            raise self.err(f"{fname}() needs an ISO text such as {example}", arg, "expression.syntax") from None


def parse(source: str) -> Parsed:
    """Parse ``source`` into a tree; raises ExpressionError (never another exception)."""
    if not isinstance(source, str):
        raise _err("an expression must be text", str(source), None)
    if len(source) > MAX_LENGTH:
        raise _err(f"expression too long ({len(source)} characters, at most {MAX_LENGTH})", source[:80], None,
                   code="expression.too_large")
    if not source.strip():
        raise _err("empty expression", source, 0)
    text, posmap, labels, dollars = _prepass(source)
    try:
        tree = pyast.parse_eval(text)
    except SyntaxError as exc:
        conv = _Converter(source, text, posmap, labels, dollars)
        lineno, col = exc.lineno or 1, (exc.offset or 0) - 1
        li = max(0, min(lineno - 1, len(conv.line_starts) - 1))
        k = min(conv.line_starts[li] + max(col, 0), len(posmap) - 1)
        where = posmap[k] if col >= 0 else len(source.rstrip())
        msg = exc.msg or "invalid syntax"
        raise _err(f"syntax error: {msg}", source, where) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise _err(f"cannot parse expression: {type(exc).__name__}", source, None) from None
    conv = _Converter(source, text, posmap, labels, dollars)
    try:
        root = conv.conv(tree.body)
    except RecursionError:
        raise _err("expression nested too deeply", source, None, code="expression.too_complex") from None
    return Parsed(source, root, labels)
