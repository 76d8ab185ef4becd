"""Column inference for the spreadsheet import (issue 22): headers in Chinese and English
business words, values in the usual spreadsheet spellings; every expectation written by
hand.

Mutations tried (each made a test here fail):
- trusting the header whatever the values say (``HEADER_AGREES = 0``):
  ``test_values_overrule_a_header_they_contradict`` (备注日期 of free text stays date);
- parsing money through float (``Decimal(float(s))`` in ``parse_decimal``):
  ``test_cell_parsers`` (0.1 + 0.2 style value 1234.10 becomes 1234.0999…);
- dropping the choice rule (``CHOICE_MAX = 0``): ``test_values_decide_without_a_header_word``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from jimu.runtime.intel.import_infer import (
    BAD,
    infer_column,
    parse_date,
    parse_money,
    parse_phone,
    parse_value,
)


def kind(label: str, values: list[object], links: dict[str, dict[str, int]] | None = None) -> tuple[str, dict]:
    c = infer_column("c", label, values, links)
    return c.type, c.options


def test_headers_in_business_words() -> None:
    assert kind("单价", ["12.5", "8"]) == ("money", {"currency": "CNY"})
    assert kind("金额", [Decimal("100.00")]) == ("money", {"currency": "CNY"})
    assert kind("Unit price", [3, 4.5]) == ("money", {"currency": "CNY"})
    assert kind("订货日期", ["2026-03-01", "2026/3/2"]) == ("date", {})
    assert kind("Order date", [datetime(2026, 3, 1, 0, 0)]) == ("date", {})
    assert kind("手机", ["13800138000"]) == ("phone", {})
    assert kind("Phone", ["+86 138 0013 8000"]) == ("phone", {})
    assert kind("数量", ["2", "1.5"]) == ("decimal", {"precision": 18, "scale": 4})
    assert kind("Qty", [2, 3]) == ("decimal", {"precision": 18, "scale": 4})
    assert kind("是否启用", ["是", "否"]) == ("boolean", {})
    assert kind("备注", ["x"]) == ("long_text", {})
    assert kind("商品名称", ["蓝莓", "山药", "草莓"]) == ("text", {})


def test_values_decide_without_a_header_word() -> None:
    assert kind("A", ["2026年3月1日", "20260302"]) == ("date", {})
    assert kind("B", ["13912345678", "0571-88886666"]) == ("phone", {})
    assert kind("C", ["¥12.00", "￥8", "30元"]) == ("money", {"currency": "CNY"})
    assert kind("D", [1, 2, 30]) == ("integer", {})
    assert kind("E", ["1.5", "2.25"]) == ("decimal", {"precision": 18, "scale": 4})
    assert kind("F", ["是", "否", "是"]) == ("boolean", {})
    assert kind("G", ["红", "蓝", "红", "蓝", "红"]) == ("choice", {"choices": [{"value": "红"}, {"value": "蓝"}]})
    # as many distinct values as rows: a name, not a choice
    assert kind("H", ["甲", "乙", "丙"]) == ("text", {})
    # codes with leading zeros stay text
    assert kind("I", ["001", "002", "013"]) == ("text", {})


def test_values_overrule_a_header_they_contradict() -> None:
    assert kind("备注日期", ["明天再说", "看情况", "下周"]) == ("text", {})
    # 4 of 5 cells read as money: the header's money type stays (80 %)
    assert kind("价格", ["1", "2", "3", "4", "面议"]) == ("money", {"currency": "CNY"})
    assert kind("价格", ["1", "2", "面议", "电询", "再说"])[0] != "money"


def test_link_when_values_name_records() -> None:
    links = {"warehouse": {"主仓": 1, "二仓": 2}, "customer": {"主仓": 9}}
    assert kind("存放", ["主仓", "二仓", "主仓"], {"warehouse": links["warehouse"]}) == ("link", {"entity": "warehouse"})
    # one of two values unknown (50 % < 90 %): not a link, but few values: a choice
    assert kind("存放", ["主仓", "三仓", "主仓", "三仓"], {"warehouse": links["warehouse"]}) == (
        "choice", {"choices": [{"value": "三仓"}, {"value": "主仓"}]})


def test_cell_parsers() -> None:
    assert parse_money("¥1,234.10") == Decimal("1234.10")
    assert parse_money(1234.1) == Decimal("1234.1")
    assert parse_money("RMB 5") == Decimal("5") and parse_money("五块") is BAD
    assert parse_date("2026.3.1") == date(2026, 3, 1) and parse_date("2026-02-30") is BAD
    assert parse_date(46082, serial=True) == date(2026, 3, 1)  # Excel day number
    assert parse_phone("(0571) 8888-6666") == "057188886666" and parse_phone("12") is BAD
    assert parse_value("money", "1,234.10") == "1234.10"
    assert parse_value("date", "2026年3月1日") == "2026-03-01"
    assert parse_value("integer", "3.5") is BAD and parse_value("integer", 3.0) == 3
    assert parse_value("text", 1001.0) == "1001"
    assert parse_value("boolean", "否") is False and parse_value("money", "  ") is None
