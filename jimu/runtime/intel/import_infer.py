"""Reading spreadsheet cells as typed values, and guessing a column's field type from its
header and its values.

The header speaks first (:func:`jimu.platform.specs.infer.infer_field_type`: 单价 / price
→ money, 日期 / date → date, 手机 / phone → phone, 数量 / qty → decimal) and the values
confirm it: a header type is kept when at least 80 % of the column's non-blank cells read
as it. Otherwise the values decide: dates, phone numbers, amounts with a currency sign,
integers, decimals, yes/no. A text column whose values are (nearly all) the titles of
records of another entity is a link to it; one with few distinct values is a choice.

Parsers return ``_BAD`` for a value that does not read as the type, so the import can
report the cell (row, field, zh/en message) instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from jimu.platform.specs.infer import infer_field_type

__all__ = ["BAD", "Column", "infer_column", "parse_value", "parse_money", "parse_decimal", "parse_int",
           "parse_date", "parse_phone", "parse_bool", "norm_key", "CHOICE_MAX"]


class _Bad:
    def __repr__(self) -> str:
        return "BAD"


BAD: Any = _Bad()
CHOICE_MAX = 12          # at most this many distinct values for a choice
HEADER_AGREES = 0.8      # share of cells that must read as the header's type
LINK_MATCH = 0.9         # share of distinct values that must name a record for a link

_MONEY_SIGNS = re.compile(r"^[¥￥$€£]|元$|^RMB|^CNY|^USD", re.IGNORECASE)
_NUM = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_CODE = re.compile(r"^0\d")  # 001, 0571...: a code written with digits, not a number
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_PHONE_CHARS = re.compile(r"[\s()（）\-]")
_TRUE = {"是", "有", "对", "true", "yes", "y", "1", "✓", "√", "启用", "t"}
_FALSE = {"否", "无", "不", "false", "no", "n", "0", "✗", "×", "停用", "f"}
_EXCEL_EPOCH = date(1899, 12, 30)


def _text(v: Any) -> str:
    return v.strip() if isinstance(v, str) else str(v)


def parse_decimal(v: Any) -> Any:
    """A Decimal from a number cell or text like ``1,234.50`` (a float cell through its
    shortest repr, never binary arithmetic); ``BAD`` otherwise."""
    if isinstance(v, bool):
        return BAD
    if isinstance(v, Decimal):
        return v
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v)) if v == v and v not in (float("inf"), float("-inf")) else BAD
    s = _text(v).replace(" ", "")
    if not _NUM.match(s):
        return BAD
    try:
        return Decimal(s.replace(",", ""))
    except InvalidOperation:
        return BAD


def parse_money(v: Any) -> Any:
    """An amount: a number, optionally with ¥/￥/$/元/RMB around it."""
    if isinstance(v, str):
        s = v.strip().replace(" ", "")
        s = re.sub(r"^(RMB|CNY|USD|[¥￥$€£])", "", s, flags=re.IGNORECASE)
        s = re.sub(r"元$", "", s)
        return parse_decimal(s)
    return parse_decimal(v)


def parse_int(v: Any) -> Any:
    d = parse_decimal(v)
    if d is BAD or d != d.to_integral_value():
        return BAD
    return int(d)


def parse_percent(v: Any) -> Any:
    if isinstance(v, str) and v.strip().endswith("%"):
        return parse_decimal(v.strip()[:-1])
    return parse_decimal(v)


def parse_date(v: Any, *, serial: bool = False) -> Any:
    """A date from a date cell or text (2026-03-01, 2026/3/1, 2026.03.01, 2026年3月1日,
    20260301); with ``serial`` an Excel day number too (a date column read as numbers)."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if serial and isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v < 2958466:
        return _EXCEL_EPOCH + timedelta(days=int(v))
    s = _text(v)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return BAD
    return BAD


def parse_phone(v: Any, *, strict: bool = False) -> Any:
    """A phone number as text: digits, optional +; a mobile (1[3-9] + 9 digits) or a
    landline (0 + area code + number) when ``strict`` (inference), else any 5–20 digits."""
    if isinstance(v, bool) or isinstance(v, float):
        return BAD
    s = _PHONE_CHARS.sub("", _text(v))
    body = s[1:] if s.startswith("+") else s
    if s.startswith("+86"):
        body = s[3:]
    if not body.isdigit():
        return BAD
    if strict:
        return s if _MOBILE.match(body) or _LANDLINE.match(body) else BAD
    return s if 5 <= len(body) <= 20 else BAD


def parse_bool(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    s = _text(v).lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return BAD


def parse_value(ftype: str, v: Any) -> Any:
    """The input value of a cell for a field of type ``ftype`` (what the record service
    accepts), None for a blank cell, ``BAD`` when it does not read as that type."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if ftype == "money":
        d = parse_money(v)
        return BAD if d is BAD else format(d, "f")
    if ftype == "decimal":
        d = parse_decimal(v)
        return BAD if d is BAD else format(d, "f")
    if ftype == "percent":
        d = parse_percent(v)
        return BAD if d is BAD else format(d, "f")
    if ftype == "integer":
        return parse_int(v)
    if ftype == "date":
        d = parse_date(v, serial=True)
        return BAD if d is BAD else d.isoformat()
    if ftype == "datetime":
        if isinstance(v, datetime):
            return v.isoformat()
        d = parse_date(v)
        return BAD if d is BAD else datetime(d.year, d.month, d.day).isoformat()
    if ftype == "phone":
        return parse_phone(v)
    if ftype == "boolean":
        return parse_bool(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a code typed as a number (SKU 1001 read as 1001.0)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return _text(v) if ftype != "long_text" else str(v)


def norm_key(v: Any) -> str:
    """How a value is compared with a record's title: trimmed, case-folded; numbers as
    their plain text."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return _text(v).casefold()


@dataclass
class Column:
    """What the preview says about one column."""

    name: str
    label: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    sample: list[Any] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "type": self.type, "options": self.options,
                "sample": self.sample}


def _share(values: list[Any], parse: Any) -> float:
    if not values:
        return 0.0
    return sum(1 for v in values if parse(v) is not BAD) / len(values)


_CHECKS: dict[str, Any] = {
    "money": parse_money, "decimal": parse_decimal, "percent": parse_percent, "integer": parse_int,
    "date": lambda v: parse_date(v, serial=True), "datetime": parse_date, "phone": parse_phone,
    "boolean": parse_bool,
}


def _by_values(values: list[Any]) -> tuple[str, dict[str, Any]] | None:
    """A type every value reads as, most specific first; None for text."""
    if all(isinstance(v, (date, datetime)) for v in values) or all(parse_date(v) is not BAD for v in values):
        return "date", {}
    if all(isinstance(v, str) and parse_phone(v, strict=True) is not BAD for v in values):
        return "phone", {}
    if all(isinstance(v, str) and _MONEY_SIGNS.search(v.strip()) and parse_money(v) is not BAD for v in values):
        return "money", {"currency": "CNY"}
    if all(parse_int(v) is not BAD and not isinstance(v, str) for v in values) or (
            all(isinstance(v, str) and _INT.match(v.strip()) and not v.strip().startswith("0") for v in values)):
        return "integer", {}
    if not any(isinstance(v, str) and _CODE.match(v.strip()) for v in values) and all(
            parse_decimal(v) is not BAD for v in values):
        return "decimal", {"precision": 18, "scale": 4}
    if all(isinstance(v, bool) or (isinstance(v, str) and parse_bool(v) is not BAD
                                   and v.strip().lower() not in ("0", "1")) for v in values):
        return "boolean", {}
    return None


def infer_column(name: str, label: str, values: list[Any], links: dict[str, dict[str, int]] | None = None,
                 *, sample: int = 5) -> Column:
    """The column's field: type and options from the header, confirmed or overruled by
    ``values`` (the column's cells); ``links`` maps entity name → {:func:`norm_key` of a
    record's title or search field → id} for the column's distinct values, as the caller
    may see them."""
    cells = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
    shown = [parse_value("text", v) if not isinstance(v, (int, Decimal)) or isinstance(v, bool) else v
             for v in cells[:sample]]
    shown = [format(v, "f") if isinstance(v, Decimal) else v for v in shown]
    htype, hopts = infer_field_type(label)
    check = _CHECKS.get(htype)
    if check is not None and (not cells or _share(cells, check) >= HEADER_AGREES):
        return Column(name, label, htype, hopts, shown)
    if htype in ("email", "url", "long_text", "image", "attachment", "barcode") and cells:
        return Column(name, label, htype, hopts, shown)
    if not cells:
        return Column(name, label, "text", {}, shown)
    by_values = _by_values(cells)
    if by_values is not None:
        if by_values[0] == "decimal" and htype == "money":
            by_values = ("money", {"currency": "CNY"})
        return Column(name, label, by_values[0], by_values[1], shown)
    distinct = {norm_key(v) for v in cells}
    for entity, index in (links or {}).items():
        if index and sum(1 for k in distinct if k in index) >= LINK_MATCH * len(distinct):
            return Column(name, label, "link", {"entity": entity}, shown)
    texts = sorted({_text(v) for v in cells})
    if 2 <= len(texts) <= CHOICE_MAX and (htype == "choice" or len(cells) >= 2 * len(texts)):
        return Column(name, label, "choice", {"choices": [{"value": t} for t in texts]}, shown)
    if max(len(_text(v)) for v in cells) > 200:
        return Column(name, label, "long_text", {}, shown)
    return Column(name, label, "text", {}, shown)
