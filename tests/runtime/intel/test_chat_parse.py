"""The chat-order parser on its corpus (issue 22) and on the cases that define it.

``test_corpus_accuracy`` is the proof the issue asks for: >= 95 % exact lines over the
labelled corpus, and at most 1 % of the lines given with confidence >= 0.8 wrong.
Mutations tried: dropping the margin term from the confidence (``conf = s1``) makes
ambiguous lines ("水饺2袋" between two brands) confident and wrong: the corpus wrong rate
goes to 1.1 % and ``test_corpus_accuracy`` and the flagging test fail. Removing the
protected spans (``protected_spans`` returning []) reads "三只松鼠" and "今麦郎一桶半" as
quantities: ``test_names_with_numerals_are_not_quantities`` fails (the corpus still
scores 98.6 %, so that test is the one guarding it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jimu.runtime.intel.chat_index import CatalogueIndex
from jimu.runtime.intel.chat_parse import THRESHOLD, parse_chat
from jimu.runtime.intel.chat_text import cn_number, normalize, split_pieces
from tests.runtime.intel.corpus_eval import HOLDOUT, evaluate, load_catalogue, load_corpus


@pytest.fixture(scope="module")
def index() -> CatalogueIndex:
    items, customers = load_catalogue()
    return CatalogueIndex(items, customers)


def _lines(index: CatalogueIndex, text: str) -> list[tuple[str | None, str]]:
    return [(ln.item["sku"] if ln.item else None, str(ln.qty)) for ln in parse_chat(text, index).lines]


def test_corpus_is_big_and_varied() -> None:
    msgs = load_corpus()
    assert len(msgs) >= 150
    assert sum(1 for m in msgs if m["t"].isascii()) >= 20  # English
    assert sum(1 for m in msgs for sku, _ in m["l"] if sku is None) >= 15  # items that do not exist
    assert sum(1 for m in msgs if m.get("c")) >= 15  # customers and nicknames


def test_corpus_accuracy(index: CatalogueIndex) -> None:
    score = evaluate(index)
    assert score.lines >= 250
    assert score.accuracy >= 0.95, "\n".join(score.misses)
    assert score.wrong_rate <= 0.01, "\n".join(m for m in score.misses if m.startswith("WRONG"))
    assert score.customer_accuracy >= 0.95, "\n".join(m for m in score.misses if m.startswith("customer"))


@pytest.mark.parametrize(("text", "value"), [
    ("两", 2), ("十二", 12), ("一百二十", 120), ("廿", 20), ("两百", 200), ("贰", 2), ("十", 10), ("一万二千", 12000),
    ("半", Decimal("0.5")), ("三十五", 35)])
def test_chinese_numerals(text: str, value: object) -> None:
    assert cn_number(text) == Decimal(str(value))


@pytest.mark.parametrize("text", ["一二", "松鼠", ""])
def test_not_numerals(text: str) -> None:
    assert cn_number(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("要2盒蓝莓+1袋山药", [("2", "盒", "蓝莓"), ("1", "袋", "山药")]),
    ("蓝莓2盒 山药1袋", [("2", "盒", "蓝莓"), ("1", "袋", "山药")]),
    ("香蕉两斤半", [("2.5", "斤", "香蕉")]),
    ("half jin of cherries", [("0.5", "斤", "of cherries")]),
    ("五常大米5kg 2袋", [("2", "袋", "五常大米5kg")]),
])
def test_split_pieces(text: str, expected: list[tuple[str, str, str]]) -> None:
    got = [(str(p.qty), p.unit, p.text.strip()) for p in split_pieces(normalize(text))]
    assert got == expected


def test_names_with_numerals_are_not_quantities(index: CatalogueIndex) -> None:
    assert _lines(index, "三只松鼠2盒") == [("G038", "2")]
    assert _lines(index, "今麦郎一桶半 6桶") == [("G048", "6")]
    assert _lines(index, "五常大米2袋") == [("G016", "2")]


def test_ambiguous_and_unknown_items_are_flagged_with_alternatives(index: CatalogueIndex) -> None:
    result = parse_chat("水饺2袋，榴莲1个", index)
    dumplings, durian = result.lines
    assert dumplings.item is None and dumplings.confidence < THRESHOLD
    assert {a["sku"] for a in dumplings.alternatives} >= {"G041", "G042"}
    assert durian.item is None and durian.qty == 1


def test_unit_picks_the_case_and_refuses_a_unit_the_item_lacks(index: CatalogueIndex) -> None:
    assert _lines(index, "可乐6罐 可乐2箱") == [("G001", "6"), ("G002", "2")]
    assert _lines(index, "红牛一箱") == [(None, "1")]


def test_weights_convert_to_the_items_unit(index: CatalogueIndex) -> None:
    line = parse_chat("鸡胸肉2kg", index).lines[0]
    assert (line.item["sku"], line.qty, line.unit) == ("F013", Decimal(4), "斤")


def test_customer_by_nickname_is_taken_out_of_the_text(index: CatalogueIndex) -> None:
    result = parse_chat("李姐：要两盒蓝莓", index)
    assert result.customer == {"id": 1, "name": "鲜邻优选便利店"}
    assert [ln.item["sku"] for ln in result.lines] == ["F001"]
    given = parse_chat("李姐：要两盒蓝莓", index, customer={"id": 9, "name": "X"})
    assert given.customer == {"id": 9, "name": "X"}


def test_hidden_items_are_never_matched(index: CatalogueIndex) -> None:
    result = parse_chat("蓝莓2盒", index, allowed_items={2, 3})
    assert result.lines[0].item is None


def test_noise_only_messages_give_no_lines(index: CatalogueIndex) -> None:
    result = parse_chat("老板早上好！在吗？谢谢🙏", index)
    assert result.lines == [] and result.unparsed == []


def test_a_piece_count_is_not_a_box_count(index: CatalogueIndex) -> None:
    """Mutation tried: treating 个 as fitting every unit makes "来20个鸡蛋" 20 boxes of
    eggs at confidence 1.0."""
    eggs = parse_chat("来20个鸡蛋", index).lines[0]
    assert eggs.item is None and eggs.as_json()["qty"] == "20"
    cabbage = parse_chat("要个大白菜", index).lines[0]
    assert (cabbage.item["sku"], cabbage.qty) == ("F009", Decimal(1))
    assert parse_chat("土豆100斤", index).lines[0].as_json()["qty"] == "100"


def test_held_out_set(index: CatalogueIndex) -> None:
    """The held-out messages (see chat_holdout.yaml for their history) stay above the bar."""
    score = evaluate(index, load_corpus(HOLDOUT))
    assert score.accuracy >= 0.95 and score.wrong_rate <= 0.01, "\n".join(score.misses)


def test_held_out_bugs(index: CatalogueIndex) -> None:
    """Two bugs the held-out set found: "cases" folded to "cas" (the unit word then counted
    as an unexplained word), and a name starting with a numeral character (百事可乐)
    protected up to the quantity's digit ("百事可乐3罐" lost its 3)."""
    assert _lines(index, "3 yogurt cases") == [("G028", "3")]
    assert _lines(index, "王老吉3罐，百事可乐3罐") == [("G010", "3"), ("G003", "3")]


@pytest.mark.parametrize(("text", "expected"), [
    ("2号楼301 山药1袋", [("F002", "1")]),
    ("3号楼2单元501室 鸡蛋2盒", [("F011", "2")]),
    ("电话13812345678 蓝莓2盒", [("F001", "2")]),
    ("订单号123 草莓1盒", [("F005", "1")]),
    ("蓝莓2盒，共51.6元，明天下午3点送", [("F001", "2")]),
])
def test_addresses_phones_prices_and_times_are_not_quantities(index: CatalogueIndex, text: str,
                                                               expected: list[tuple[str, str]]) -> None:
    """Mutation tried: without ``_NOT_QTY`` "2号楼301 山药1袋" is 301 bags of yam at
    confidence 1.0."""
    assert _lines(index, text) == expected


def test_a_range_is_flagged(index: CatalogueIndex) -> None:
    line = parse_chat("苹果2-3斤", index).lines[0]
    assert line.item is None and line.confidence < THRESHOLD
    assert line.alternatives[0]["sku"] == "F003" and line.qty == 3
