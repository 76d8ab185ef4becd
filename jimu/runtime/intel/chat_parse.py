"""Parse a chat order ("李姐：要2盒蓝莓+1袋山药，谢谢") into order lines against a
:class:`~jimu.runtime.intel.chat_index.CatalogueIndex`. Pure: no database, no network.

Every line carries a confidence in [0, 1] and the alternatives it was weighed against.
The confidence is the best product's score, lowered when another product comes close
(``conf = s1 - 1.5 × max(0, 0.2 - (s1 - s2))``: "水饺" between two brands of dumplings
is a coin toss, not a match), and when the unit said does not fit the item (2 cases of an
item only sold by the can: × 0.75). Below :data:`THRESHOLD` the line keeps ``item: None``
and is ``flagged``: the caller decides, the parser never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from jimu.runtime.intel.chat_index import CatalogueIndex, Product
from jimu.runtime.intel.chat_text import (
    GENERIC_UNITS,
    UNITS,
    WEIGHT_JIN,
    key,
    normalize,
    split_pieces,
    strip_noise,
)

__all__ = ["THRESHOLD", "ChatLine", "ParseResult", "parse_chat"]

THRESHOLD = 0.8
_ALTERNATIVES = 3
_UNIT_MISMATCH = 0.75
_NO_QTY = 0.9
_RANGE_CAP = 0.7
"""A range ("苹果2-3斤") names the item but not the quantity: flagged for a person."""


@dataclass
class ChatLine:
    """One parsed line. ``item`` is None when flagged (confidence below the threshold)."""

    text: str
    qty: Decimal
    unit: str | None
    confidence: float
    item: dict[str, Any] | None
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.item is None

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item["id"] if self.item else None, "sku": self.item["sku"] if self.item else None,
                "item_name": self.item["name"] if self.item else None, "qty": _dec(self.qty), "unit": self.unit,
                "confidence": round(self.confidence, 3), "flagged": self.flagged, "text": self.text,
                "alternatives": self.alternatives}


@dataclass
class ParseResult:
    customer: dict[str, Any] | None
    lines: list[ChatLine]
    unparsed: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"customer": self.customer["id"] if self.customer else None,
                "customer_name": self.customer["name"] if self.customer else None,
                "lines": [ln.as_json() for ln in self.lines], "unparsed": self.unparsed}


def _dec(q: Decimal) -> str:
    return format(_plain(q), "f")


_CONTAINERS = frozenset("盒箱袋瓶包桶罐提排碗")


def _plain(q: Decimal) -> Decimal:
    """``q`` without trailing zeros and never in exponent form (20, not 2E+1)."""
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q.normalize()


def _variant(prod: Product, unit: str | None) -> tuple[dict[str, Any], float, Decimal]:
    """The member of ``prod`` the unit said points at, a score factor (1, or the mismatch
    penalty) and the factor converting the quantity into the member's unit. A generic
    classifier (个) fits items counted by the piece, not ones sold by the box: "20个鸡蛋"
    is not 20 boxes of eggs."""
    if unit is None:
        return prod.base, 1.0, Decimal(1)
    if unit in GENERIC_UNITS:
        base_unit = UNITS.get(prod.base["unit"] or "", prod.base["unit"])
        return prod.base, (_UNIT_MISMATCH if base_unit in _CONTAINERS else 1.0), Decimal(1)
    for m in prod.members:
        if m["unit"] == unit or UNITS.get(m["unit"] or "") == unit:
            return m, 1.0, Decimal(1)
    if unit in WEIGHT_JIN:
        for m in prod.members:
            mu = UNITS.get(m["unit"] or "", m["unit"])
            if mu in WEIGHT_JIN:
                return m, 1.0, WEIGHT_JIN[unit] / WEIGHT_JIN[mu]
    return prod.base, _UNIT_MISMATCH, Decimal(1)


def _line(index: CatalogueIndex, text: str, qty: Decimal | None, unit: str | None,
          allowed: set[int] | None, approx: bool = False) -> ChatLine | None:
    scores = index.score(text)
    ranked: list[tuple[float, dict[str, Any], Decimal]] = []
    for pid, sc in scores.items():
        prod = index.products[pid]
        if allowed is not None:
            members = [m for m in prod.members if m["id"] in allowed]
            if not members:
                continue
            prod = Product(prod.id, members, prod.terms, prod.words, prod.chars, prod.syls)
        member, factor, convert = _variant(prod, unit)
        ranked.append((min(1.0, sc) * factor, member, convert))
    ranked.sort(key=lambda r: -r[0])
    if not ranked or ranked[0][0] <= 0.3:
        if qty is None:
            return None
        return ChatLine(text.strip(), qty, unit, 0.0, None, [])
    s1, best, convert = ranked[0]
    s2 = ranked[1][0] if len(ranked) > 1 else 0.0
    conf = s1 - 1.5 * max(0.0, 0.2 - (s1 - s2))
    said = qty
    if qty is None:
        conf *= 1.0 if unit else _NO_QTY
        qty = Decimal(1)
    conf = max(0.0, min(_RANGE_CAP if approx else 1.0, conf))
    alts = [{"item": m["id"], "sku": m["sku"], "item_name": m["name"], "score": round(sc, 3)}
            for sc, m, _c in ranked[:_ALTERNATIVES + 1] if sc > 0.3]
    if conf < THRESHOLD:
        if said is None and s1 < 0.6:
            return None  # chatter ("老规矩"), not an item
        return ChatLine(text.strip(), qty, unit, conf, None, alts)
    out_unit = best["unit"] if convert != 1 or unit is None or unit in GENERIC_UNITS else unit
    return ChatLine(text.strip(), _plain(qty * convert), out_unit, conf, best,
                    [a for a in alts if a["item"] != best["id"]][:_ALTERNATIVES])


def parse_chat(text: str, index: CatalogueIndex, *, customer: dict[str, Any] | None = None,
               allowed_items: set[int] | None = None, detect_customer: bool = True) -> ParseResult:
    """Parse ``text`` (any length; the caller bounds it). ``customer`` ({id, name}) wins
    over one named in the message; a named one is recognised by its name, nickname or
    alias and taken out of the text either way. ``allowed_items``: the item ids the
    caller may see (None: all)."""
    norm = normalize(text)
    found = index.find_customer(norm) if detect_customer else None
    if found is not None:
        c, (a, b) = found
        norm = norm[:a] + "\n" + norm[b:]
        if customer is None:
            customer = {"id": c.id, "name": c.name}
    lines: list[ChatLine] = []
    unparsed: list[str] = []
    for piece in split_pieces(norm, index.protected_spans(norm)):
        if not key(strip_noise(piece.text)):
            if piece.qty is not None:
                unparsed.append(piece.raw.strip())
            continue
        if piece.qty is not None and piece.qty <= 0:
            unparsed.append(piece.raw.strip())  # "山药*0": nothing to order, for a person to read
            continue
        unit = piece.unit or next((UNITS[w] for w in piece.text.split() if w.isascii() and w in UNITS), None)
        line = _line(index, piece.text, piece.qty, unit, allowed_items, piece.approx)
        if line is None:
            unparsed.append(piece.raw.strip())
        else:
            lines.append(line)
    return ParseResult(customer, lines, unparsed)
