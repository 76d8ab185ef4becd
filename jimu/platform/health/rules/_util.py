"""Shared helpers of the built-in rules: domain vocabulary, words of names and labels,
expression tokens (with a fallback while the expression language is not available)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from jimu.core import pyast
from jimu.platform.health.model import ScanContext
from jimu.platform.specs import AppSpec, EntitySpec, FieldSpec, Label

__all__ = [
    "DOMAIN_WORDS",
    "NEUTRAL_FAMILIES",
    "words_of",
    "families_of",
    "label_text",
    "expr_identifiers",
    "expr_functions",
    "compile_or_error",
    "expressions_api",
    "formula_fields",
    "copy_app",
    "rule_path_field",
    "SENSITIVE_COST",
    "SENSITIVE_PERSONAL",
    "PRIVILEGED_ROLES",
    "is_sensitive",
]

# Words (English name tokens or Chinese label fragments) telling which domain family a
# name or label belongs to. Keep the lists short and unambiguous.
DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "supply_chain": ("supplier", "vendor", "purchase", "procurement", "供应商", "采购", "进货"),
    "hr": ("employee", "staff", "appraisal", "performance", "salary", "payroll", "attendance",
           "员工", "职员", "绩效", "考核", "考勤", "工资", "薪资", "人事", "薪酬"),
    "sales": ("customer", "sales", "quotation", "客户", "销售", "报价"),
    "finance": ("invoice", "payment", "receivable", "payable", "发票", "付款", "收款", "应收", "应付"),
    "production": ("bom", "routing", "operation", "work_order", "工序", "生产", "工单"),
}
# Families any unit may touch (items, warehouses, stock are everyone's business).
NEUTRAL_FAMILIES = frozenset({"inventory", "core"})

_TOKEN = re.compile(r"[a-z]+")


def label_text(label: Label | None) -> str:
    return f"{label.zh} {label.en}".lower() if label else ""


def words_of(name: str, label: Label | None = None) -> set[str]:
    """English tokens of ``name`` and the label, plus the Chinese domain words present."""
    text = f"{name} {label_text(label)}".lower()
    out = set(_TOKEN.findall(text.replace("_", " ")))
    for vocab in DOMAIN_WORDS.values():
        out.update(w for w in vocab if not w.isascii() and w in text)
    if "work_order" in text:
        out.add("work_order")
    return out


def families_of(words: Iterable[str], ignore: Iterable[str] = ()) -> set[str]:
    """Domain families whose vocabulary intersects ``words`` (minus ``ignore``)."""
    ws = set(words) - set(ignore)
    return {fam for fam, vocab in DOMAIN_WORDS.items() if ws.intersection(vocab)}


# Sensitive fields ------------------------------------------------------------------------
SENSITIVE_COST = ("cost", "salary", "margin", "profit", "wage", "payroll",
                  "成本", "工资", "薪", "毛利", "利润", "进价")
SENSITIVE_PERSONAL = ("phone", "mobile", "email", "id_card", "idcard", "bank", "address",
                      "身份证", "手机", "电话", "银行", "住址", "地址")
PRIVILEGED_ROLES = frozenset({"admin", "finance", "manager", "vp", "owner", "purchasing", "accounting",
                              "hr", "boss", "ceo", "cfo"})


def is_sensitive(f: FieldSpec, vocab: tuple[str, ...]) -> bool:
    text = f"{f.name} {label_text(f.label)}".lower()
    tokens = set(_TOKEN.findall(text.replace("_", " ")))
    return any((w in tokens or w in f.name) if w.isascii() else w in text for w in vocab)


# Expressions -----------------------------------------------------------------------------
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_IDENT = re.compile(r"\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_FUNC = re.compile(r"\b([A-Z][A-Z_0-9]*)\s*\(")
_KEYWORDS = frozenset({"and", "or", "not", "if", "else", "in", "is", "True", "False", "None",
                       "true", "false", "null"})


def expr_identifiers(source: str) -> set[str]:
    """Field references of an expression (first segment of ``link.field``), by tokens."""
    text = _STRING.sub("''", source)
    out = set()
    for m in _IDENT.finditer(text):
        token = m.group(0)
        end = m.end()
        rest = text[end:].lstrip()
        if token in _KEYWORDS or token.startswith("$") or (token.isupper() and rest.startswith("(")):
            continue
        out.add(token.split(".", 1)[0])
    return out


def expr_functions(source: str) -> set[str]:
    """UPPERCASE function names called by an expression."""
    return set(_FUNC.findall(_STRING.sub("''", source)))


def _type_checker() -> Any:
    """Parse + type-check only, when the expression package exposes its parser and checker.

    ``compile_expression`` also builds the evaluator, which maps every link of the app on
    each call; a scan of thousands of expressions only needs the type check (the same
    ExpressionErrors). Falls back to ``compile_expression`` if the internals move."""
    import importlib

    try:
        parse = importlib.import_module("jimu.platform.expressions.parser").parse
        checker = importlib.import_module("jimu.platform.expressions.checker").Checker
    except (ImportError, AttributeError):
        return None

    def check(source: str, app: AppSpec, entity: str, *, purpose: str,
              extra_names: dict[str, str] | None = None) -> None:
        checker(source, app, entity, purpose, dict(extra_names or {})).check(parse(source).root)

    return check


def compile_or_error(ctx: ScanContext, source: str, entity: EntitySpec, purpose: str,
                     extra_names: dict[str, str] | None = None) -> str | None:
    """The error message of compiling ``source`` against ``entity``, or None when it is fine.

    Uses ``jimu.platform.expressions.compile_expression`` when it exists; otherwise a
    syntax check plus unknown-field check (and a note in the scan context)."""
    compile_expression = _type_checker() or expressions_api("compile_expression")
    if compile_expression is not None:
        from jimu.core.errors import ExpressionError

        try:
            compile_expression(source, ctx.app, entity.name, purpose=purpose, extra_names=extra_names)
        except ExpressionError as exc:
            return str(exc)
        except Exception as exc:  # a crash in the compiler must not stop the scan
            return f"{type(exc).__name__}: {exc}"
        return None
    ctx.note("expression language not available: FX checks used a syntax-and-names fallback")
    py = re.sub(r"\$(\w+)", r"_\1", source).replace("<>", "!=")
    try:
        pyast.parse_eval(py)
    except SyntaxError as exc:
        return f"syntax error at {exc.offset}: {exc.msg}"
    known = {f.name for f in entity.fields} | set(extra_names or {}) | {"id", "version", "created_at", "updated_at",
                                                 "created_by", "updated_by"}
    unknown = sorted(expr_identifiers(source) - known)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    return None


def expressions_api(name: str) -> Any:
    """``jimu.platform.expressions.<name>`` when the expression language provides it, else None
    (imported lazily: the language is optional for the scanner)."""
    import importlib

    try:
        module = importlib.import_module("jimu.platform.expressions")
    except ImportError:
        return None
    return getattr(module, name, None)


def formula_fields(entity: EntitySpec) -> list[FieldSpec]:
    return [f for f in entity.active_fields if f.type == "formula" and f.expression]


def copy_app(app: AppSpec) -> AppSpec:
    """A deep copy to modify in an auto-fix."""
    return app.model_copy(deep=True)


def rule_path_field(entity: str, field: str) -> tuple[str, str]:
    """(element key, path) of a field."""
    return f"field:{entity}.{field}", f"entities.{entity}.fields.{field}"


def dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj
