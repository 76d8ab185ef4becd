"""The catalogue index a chat message is matched against: items grouped into *products*
(an item and its case variant, ``可口可乐330ml`` / ``可口可乐330ml 整箱``, are one product
told apart by the unit said), each with its terms (name, core name without sizes,
``aliases``, SKU), their pinyin and initials, and inverted indexes by character and
syllable so a fragment is scored against a few dozen products, not the whole catalogue.

Built once per app version and catalogue state (:mod:`jimu.runtime.intel.chat_orders`
caches it); scoring is pure. Scores are in [0, 1]:

- exact term (name, core, alias, SKU): 1.0; same pinyin (a homophone typo, ``蓝梅``):
  0.95; typed initials (``lm``): 0.9;
- a term found inside the fragment: 1.0 less 0.25 per character of the rest that the
  product's own name does not explain (``青苹果`` is not ``苹果``: 0.75, flagged);
- the fragment inside a term: 0.75-1 as a prefix (brand), 0.7-1 as a suffix (head noun),
  0.55-0.9 in the middle, growing with the share of the term it covers;
- otherwise character overlap (Dice, × 0.85) or pinyin similarity (× 0.9).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from jimu.runtime.intel.chat_text import ascii_words, has_cjk, key, normalize, strip_noise

__all__ = ["Product", "CatalogueIndex", "Customer", "syllables", "PACK_WORDS"]

PACK_WORDS = ("整箱", "箱装", "整件", "盒装", "袋装", "瓶装", "散装")
_SIZE_IN_NAME = re.compile(
    r"\d+(?:\.\d+)?\s*(?:ml|毫升|l|升|g|克|kg|公斤|千克|枚|片|卷|层|连包|包|只|支|粒|入|个|瓶|袋)(?![a-z])"
    r"(?:\s*[*x×]\s*\d+\s*(?:包|卷|瓶|袋|枚|支|个|罐|盒)?)?")
_CN_NUMERALS = set("一二两三四五六七八九十百千廿")
_CANDIDATES = 40
_MAX_ALIAS_WORDS = 4  # longer runs of English words are not item names (and stay linear)


@lru_cache(maxsize=65536)
def _syl(ch: str) -> str:
    return lazy_pinyin(ch)[0] if "\u3400" <= ch <= "\u9fff" else ch


def syllables(text: str) -> list[str]:
    """Toneless pinyin per character (other characters as they are)."""
    return [_syl(ch) for ch in text]


def _core(name: str) -> str:
    text = normalize(name)
    for w in PACK_WORDS:
        text = text.replace(w, "")
    return key(_SIZE_IN_NAME.sub("", text))


def _family(name: str) -> str:
    text = normalize(name)
    for w in PACK_WORDS:
        text = text.replace(w, "")
    return key(text)


@dataclass
class Product:
    """Items that differ only by pack (the case and the single unit)."""

    id: int
    members: list[dict[str, Any]]  # {id, sku, name, unit}
    terms: list[str] = field(default_factory=list)  # CJK / mixed keys
    words: list[str] = field(default_factory=list)  # English aliases, singular, space-joined
    chars: set[str] = field(default_factory=set)
    syls: set[str] = field(default_factory=set)

    @property
    def base(self) -> dict[str, Any]:
        """The member sold by the unit (not the case), the default when no unit is said."""
        return next((m for m in self.members if not any(w in m["name"] for w in PACK_WORDS)), self.members[0])


@dataclass
class Customer:
    id: int
    name: str
    terms: list[str]


def _aliases(raw: Any) -> list[str]:
    if not raw:
        return []
    return [a.strip() for a in re.split(r"[|｜\n]", str(raw)) if a.strip()]


class CatalogueIndex:
    """Items and customers ready for matching (see the module docstring)."""

    def __init__(self, items: Iterable[Mapping[str, Any]], customers: Iterable[Mapping[str, Any]] = ()) -> None:
        fams: dict[str, Product] = {}
        raw_names: list[str] = []  # as typed (with "*", "."): protected like the keyed terms
        for it in items:
            name = str(it.get("name") or it.get("sku") or "")
            if not name:
                continue
            fk = _family(name) or key(name)
            prod = fams.get(fk)
            if prod is None:
                prod = fams[fk] = Product(len(fams), [])
            prod.members.append({"id": it["id"], "sku": it.get("sku"), "name": name,
                                 "unit": normalize(str(it.get("unit") or "")) or None})
            for term in [name, _core(name), *_aliases(it.get("aliases")), str(it.get("sku") or "")]:
                self._add_term(prod, term)
            raw_names.append(normalize(name).replace(" ", ""))
        self.products = list(fams.values())
        self.exact: dict[str, set[int]] = {}
        self.pinyin: dict[str, set[int]] = {}
        self.initials: dict[str, set[int]] = {}
        self.by_char: dict[str, set[int]] = {}
        self.by_syl: dict[str, set[int]] = {}
        self.english: dict[str, set[int]] = {}
        self.protect: set[str] = set()
        self.term_pinyin: dict[str, str] = {}
        self.term_chars: dict[str, frozenset[str]] = {}
        for p in self.products:
            p.terms = list(dict.fromkeys(p.terms))
            for t in p.terms:
                self.exact.setdefault(t, set()).add(p.id)
                if has_cjk(t):
                    sy = syllables(t)
                    self.term_pinyin[t] = "".join(sy)
                    self.term_chars[t] = frozenset(t)
                    self.pinyin.setdefault("".join(sy), set()).add(p.id)
                    if len(t) >= 2:
                        self.initials.setdefault("".join(s[0] for s in sy if s), set()).add(p.id)
                    self.protect.add(t)
                    for i, ch in enumerate(t):  # numerals inside names are never quantities
                        if ch in _CN_NUMERALS:  # ("三只松鼠"), up to a Chinese character: never
                            for j in range(i + 3, len(t) + 1):  # over a digit ("百事可乐3罐")
                                if has_cjk(t[j - 1]):
                                    self.protect.add(t[i:j])
                elif any(ch.isdigit() for ch in t) and any(ch.isalpha() for ch in t):
                    self.protect.add(t)
                for ch in t:
                    p.chars.add(ch)
                    self.by_char.setdefault(ch, set()).add(p.id)
                    s = _syl(ch)
                    p.syls.add(s)
                    self.by_syl.setdefault(s, set()).add(p.id)
            for w in p.words:
                self.english.setdefault(w, set()).add(p.id)
        self.protect.update(n for n in raw_names if n != key(n) and has_cjk(n))
        self.protect = {t for t in self.protect if len(t) >= 2}
        self._max_term = max((len(t) for t in self.protect), default=1)
        self._scan_terms = {t for t in self.exact if has_cjk(t)}
        self._max_scan = max((len(t) for t in self._scan_terms), default=1)
        self._fuzzy_keys = list(self.english) + [k for k in self.pinyin if len(k) >= 4]
        self.customers = [Customer(int(c["id"]), str(c.get("name") or ""),
                                   [t for t in {key(x) for x in [c.get("name"), c.get("nickname"),
                                                                  *_aliases(c.get("aliases"))] if x} if len(t) >= 2])
                          for c in customers]

    @staticmethod
    def _add_term(prod: Product, term: str) -> None:
        if not term:
            return
        if has_cjk(term) or any(ch.isdigit() for ch in term):
            k = key(term)
            if k:
                prod.terms.append(k)
        else:
            words = ascii_words(term)
            if words:
                prod.words.append(" ".join(words))
                prod.terms.append("".join(words))

    # ---- scanning ---------------------------------------------------------------------------

    def protected_spans(self, text: str) -> list[tuple[int, int]]:
        """Spans of ``text`` (normalized) holding a catalogue term, longest first."""
        return _scan(text, self.protect, self._max_term)

    def find_customer(self, text: str) -> tuple[Customer, tuple[int, int]] | None:
        """The customer whose name, nickname or alias the message names (the longest
        mention wins), with the span of the mention in ``text``."""
        best: tuple[int, Customer, tuple[int, int]] | None = None
        low = text.lower()
        compact_map = [i for i, ch in enumerate(low) if not ch.isspace()]
        compact = "".join(low[i] for i in compact_map)
        for c in self.customers:
            for t in c.terms:
                pos = compact.find(t)
                while pos >= 0:
                    a, b = compact_map[pos], compact_map[pos + len(t) - 1] + 1
                    ascii_term = t.isascii()
                    if not ascii_term or ((a == 0 or not low[a - 1].isalnum()) and (b >= len(low) or not low[b].isalnum())):
                        if best is None or len(t) > best[0]:
                            best = (len(t), c, (a, b))
                        break
                    pos = compact.find(t, pos + 1)
        return (best[1], best[2]) if best else None

    # ---- scoring ----------------------------------------------------------------------------

    def score(self, fragment: str) -> dict[int, float]:
        """Product id -> score for one item fragment (noise at its ends is stripped; the
        raw and the stripped fragment are both tried)."""
        out: dict[int, float] = {}
        stripped = strip_noise(fragment)
        for variant in dict.fromkeys([stripped, fragment]):
            if has_cjk(variant):
                self._score_cjk(key(variant), out)
            else:
                self._score_ascii(variant, out)
        return out

    def _leftover_penalty(self, rest: str, prod: Product) -> float:
        rest = key(strip_noise(rest))
        unexplained = sum(1 for ch in rest if ch not in prod.chars and _syl(ch) not in prod.syls)
        return 0.25 * unexplained

    def _score_cjk(self, f: str, out: dict[int, float]) -> None:
        if not f:
            return
        for pid in self.exact.get(f, ()):
            _up(out, pid, 1.0)
        fs = syllables(f)
        for pid in self.pinyin.get("".join(fs), ()):
            _up(out, pid, 0.95)
        for a, b in _scan(f, self._scan_terms, self._max_scan):
            term = f[a:b]
            for pid in self.exact.get(term, ()):
                _up(out, pid, 1.0 - self._leftover_penalty(f[:a] + " " + f[b:], self.products[pid]))
        counts: Counter[int] = Counter()
        for ch in set(f):
            counts.update(self.by_char.get(ch, ()))
        for s in set(fs):
            counts.update(self.by_syl.get(s, ()))
        fpy = "".join(fs)
        for pid, _n in counts.most_common(_CANDIDATES):
            prod = self.products[pid]
            best = 0.0
            for t in prod.terms:
                tpy = self.term_pinyin.get(t)
                if tpy is None:
                    continue
                best = max(best, _contained(f, t), _dice(f, t, self.term_chars[t]) * 0.85,
                           fuzz.ratio(fpy, tpy) / 100 * 0.9 if len(f) >= 2 else 0.0)
            _up(out, pid, best)

    def _score_ascii(self, text: str, out: dict[int, float]) -> None:
        words = [w for w in ascii_words(strip_noise(text)) if w not in _UNIT_EN]
        if not words:
            return
        phrase, joined = " ".join(words), "".join(words)
        for pid in self.english.get(phrase, ()):
            _up(out, pid, 1.0)
        for pid in self.exact.get(joined, ()):
            _up(out, pid, 1.0)
        for pid in self.pinyin.get(joined, ()):
            _up(out, pid, 0.95)
        if 2 <= len(joined) <= 6:
            for pid in self.initials.get(joined, ()):
                _up(out, pid, 0.9)
        # an alias among more words: the extra words cost like unexplained characters
        for n in range(min(len(words) - 1, _MAX_ALIAS_WORDS), 0, -1):
            for i in range(len(words) - n + 1):
                sub = " ".join(words[i:i + n])
                for pid in self.english.get(sub, ()):
                    rest = [w for w in words[:i] + words[i + n:] if w not in self.products[pid].words]
                    _up(out, pid, 1.0 - 0.25 * len(rest))
        if 4 <= len(joined) <= 40:
            for match, sc, _ in process.extract(joined, self._fuzzy_keys, scorer=fuzz.ratio, limit=5, score_cutoff=75):
                for pid in self.english.get(match, ()) or self.pinyin.get(match, ()):
                    _up(out, pid, sc / 100 * 0.92)
            for match, sc, _ in process.extract(phrase, list(self.english), scorer=fuzz.ratio, limit=5,
                                                score_cutoff=75):
                for pid in self.english.get(match, ()):
                    _up(out, pid, sc / 100 * 0.92)


_UNIT_EN = frozenset({"box", "bag", "case", "carton", "bottle", "pack", "packet", "can", "tin", "jin", "kg", "kilo",
                      "piece", "pc", "pcs", "bunch", "head", "bowl", "block", "row", "barrel", "tub", "gram", "portion"})


def _up(out: dict[int, float], pid: int, score: float) -> None:
    if score > out.get(pid, 0.0):
        out[pid] = score


def _contained(f: str, t: str) -> float:
    """The fragment inside a term: prefix (a brand) 0.75-1, suffix (the head noun) 0.7-1,
    middle 0.55-0.9, by the share of the term covered."""
    if len(f) < 1 or f not in t or f == t:
        return 0.0
    r = len(f) / len(t)
    if len(f) == 1:
        r /= 2
    if t.startswith(f):
        return 0.75 + 0.25 * r
    if t.endswith(f):
        return 0.7 + 0.3 * r
    return 0.55 + 0.35 * r


def _dice(a: str, b: str, b_chars: frozenset[str] | None = None) -> float:
    """Dice overlap of the characters of ``a`` and ``b`` (order-free: "苹果红富士" is
    "红富士苹果"); repeated characters count once, which keeps it a set operation."""
    if not a or not b:
        return 0.0
    common = len(set(a) & (b_chars if b_chars is not None else set(b)))
    return 2 * common / (len(set(a)) + len(b_chars if b_chars is not None else set(b)))


def _scan(text: str, terms: set[str], longest: int) -> list[tuple[int, int]]:
    """Greedy longest-match spans of ``terms`` in ``text``."""
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        for ln in range(min(longest, n - i), 0, -1):
            if text[i:i + ln] in terms:
                spans.append((i, i + ln))
                i += ln
                break
        else:
            i += 1
    return spans
