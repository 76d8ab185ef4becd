"""The types of the expression language and how field types map onto them.

A :class:`T` is a value type name (the field value types: ``text``, ``integer``,
``decimal``, ``money``, ``boolean``, ``date``, ``datetime``, ``link``, ``list``, ``null``,
...) plus, for links and lists, the entity or element type. ``any`` is the type of values
only known at run time (``$user.<attribute>``); it is compatible with everything.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "T",
    "NULL",
    "ANY",
    "TEXT",
    "INTEGER",
    "DECIMAL",
    "MONEY",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "NUMERIC",
    "TEXTUAL",
    "field_value_type",
    "is_numeric",
    "is_text",
    "comparable",
    "unify",
    "numeric_result",
]

# Field value types that behave as text in expressions.
TEXTUAL = frozenset(
    {"text", "long_text", "email", "phone", "url", "barcode", "choice", "user", "auto_number",
     "attachment", "image"}
)
# Field value types that behave as numbers. ``duration`` is a whole number of seconds.
NUMERIC = frozenset({"integer", "decimal", "money", "percent", "duration"})
INTEGRAL = frozenset({"integer", "duration"})


@dataclass(frozen=True)
class T:
    """A type: ``name`` plus the entity of a link/list, or the element type of a list."""

    name: str
    entity: str | None = None
    elem: str | None = None

    def __str__(self) -> str:
        if self.name == "link" and self.entity:
            return f"link({self.entity})"
        if self.name == "list" and (self.entity or self.elem):
            return f"list({self.entity or self.elem})"
        return self.name


NULL = T("null")
ANY = T("any")
TEXT = T("text")
INTEGER = T("integer")
DECIMAL = T("decimal")
MONEY = T("money")
BOOLEAN = T("boolean")
DATE = T("date")
DATETIME = T("datetime")


def field_value_type(ftype: str, target: str | None = None) -> T:
    """The expression type of a field of value type ``ftype``."""
    if ftype in TEXTUAL:
        return T(ftype)
    if ftype == "link":
        return T("link", entity=target)
    if ftype == "child_table":
        return T("list", entity=target)
    if ftype == "multi_choice":
        return T("list", elem="text")
    if ftype in ("geo", "json"):
        return T("json")
    return T(ftype)


def is_numeric(t: T) -> bool:
    return t.name in NUMERIC or t.name in ("null", "any")


def is_integral(t: T) -> bool:
    return t.name in INTEGRAL


def is_text(t: T) -> bool:
    return t.name in TEXTUAL or t.name in ("null", "any")


def family(t: T) -> str:
    """The comparison family of a type: values of one family compare with each other."""
    if t.name in NUMERIC:
        return "number"
    if t.name in TEXTUAL:
        return "text"
    if t.name == "link":
        return "link"
    return t.name


def comparable(a: T, b: T, *, ordering: bool = False) -> bool:
    """Whether ``a`` and ``b`` may be compared (``ordering``: with < <= > >=)."""
    if a.name in ("null", "any") or b.name in ("null", "any"):
        return True
    fa, fb = family(a), family(b)
    if fa != fb:
        # A link is its target's integer id.
        return {fa, fb} == {"link", "number"} and not ordering
    if ordering:
        return fa in ("number", "text", "date", "datetime")
    return fa not in ("list", "json")


def numeric_result(a: T, b: T, op: str) -> T:
    """The type of ``a op b`` for numbers: integers stay integers (except ``/``), money
    wins over decimal, percent and duration count as decimal/integer."""
    if op == "/":
        return MONEY if "money" in (a.name, b.name) and b.name != "money" else DECIMAL
    if is_integral(a) and is_integral(b):
        return INTEGER
    if (a.name == "integer" and b.name == "null") or (a.name == "null" and b.name == "integer"):
        return INTEGER
    if "money" in (a.name, b.name):
        return MONEY
    return DECIMAL


def unify(types: list[T]) -> T | None:
    """The common type of branches (IF, COALESCE, MIN/MAX, list items), or None."""
    known = [t for t in types if t.name not in ("null", "any")]
    if not known:
        return ANY if any(t.name == "any" for t in types) else NULL
    first = known[0]
    if all(t == first for t in known):
        return first
    fams = {family(t) for t in known}
    if fams == {"number"}:
        if all(is_integral(t) for t in known):
            return INTEGER
        return MONEY if all(t.name in ("money", "integer") for t in known) else DECIMAL
    if fams == {"text"}:
        return TEXT
    if fams == {"link"} and len({t.entity for t in known}) == 1:
        return first
    return None
