"""Load the chat-order corpus and its catalogue, and score the parser on it (used by the
accuracy test and by ``benchmarks/bench_chat.py``).

A line is *exact* when the parser gives a confident line (confidence >= threshold) with
the expected item and quantity; an expected ``null`` line is exact when the message
produced no confident line that matches nothing expected. A confident line that matches
no expected line is *wrong*."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from jimu.runtime.intel.chat_index import CatalogueIndex
from jimu.runtime.intel.chat_parse import THRESHOLD, parse_chat

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "chat_corpus.yaml"
CATALOGUE = HERE / "chat_catalogue.yaml"
HOLDOUT = HERE / "chat_holdout.yaml"


def load_catalogue() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, customers) with ids 1..n in file order."""
    data = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    items = [{"id": i, **row} for i, row in enumerate(data["items"], 1)]
    customers = [{"id": i, **row} for i, row in enumerate(data["customers"], 1)]
    return items, customers


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["messages"])


@dataclass
class Score:
    lines: int = 0
    exact: int = 0
    confident: int = 0
    wrong: int = 0
    messages: int = 0
    customers_right: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.exact / self.lines if self.lines else 0.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong / self.confident if self.confident else 0.0

    @property
    def customer_accuracy(self) -> float:
        return self.customers_right / self.messages if self.messages else 0.0


def evaluate(index: CatalogueIndex | None = None, messages: list[dict[str, Any]] | None = None) -> Score:
    items, customers = load_catalogue()
    index = index or CatalogueIndex(items, customers)
    sku_of = {it["id"]: it["sku"] for it in items}
    code_of = {c["id"]: c["code"] for c in customers}
    score = Score()
    for msg in messages if messages is not None else load_corpus():
        result = parse_chat(msg["t"], index)
        score.messages += 1
        got_customer = code_of.get(result.customer["id"]) if result.customer else None
        if got_customer == msg.get("c"):
            score.customers_right += 1
        else:
            score.misses.append(f"customer {msg['t']!r}: {got_customer} != {msg.get('c')}")
        produced = [(sku_of[ln.item["id"]], Decimal(ln.qty)) for ln in result.lines
                    if ln.item is not None and ln.confidence >= THRESHOLD]
        score.confident += len(produced)
        left = list(produced)
        expected = [(sku, Decimal(str(q))) for sku, q in msg["l"]]
        for sku, qty in expected:
            if sku is not None:
                score.lines += 1
                if (sku, qty) in left:
                    left.remove((sku, qty))
                    score.exact += 1
                else:
                    score.misses.append(f"miss {msg['t']!r}: {sku} x {qty}; got {_show(result)}")
        score.wrong += len(left)
        for sku, qty in left:
            score.misses.append(f"WRONG {msg['t']!r}: confident {sku} x {qty}")
        for sku, _qty in expected:
            if sku is None:
                score.lines += 1
                score.exact += not left
    return score


def _show(result: Any) -> str:
    return "; ".join(f"{ln.item['sku'] if ln.item else None} {ln.qty} {ln.unit} {ln.confidence:.2f} [{ln.text}]"
                     for ln in result.lines) + (f" unparsed={result.unparsed}" if result.unparsed else "")
