"""Chat-order text: normalization, quantities (digits, Chinese and English numerals, 半),
units, and the split of a message into pieces ``(qty, unit, text)``.

Pure functions, no database. Why a hand-written scanner and not a tokenizer: WeChat order
messages are short, mix Chinese and English, and their item names carry digits and
numerals of their own (``可口可乐330ml``, ``三只松鼠``, ``今麦郎一桶半``), so the scanner
takes *protected spans* (catalogue terms found in the text) and never reads a quantity or
a separator inside one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "Piece", "UNITS", "WEIGHT_JIN", "GENERIC_UNITS", "normalize", "key", "cn_number", "split_pieces",
    "strip_noise", "ascii_words", "is_ascii", "has_cjk", "MASK",
]

MASK = "\ue000"
"""Stands in for a protected character while scanning for quantities and separators."""

# Canonical units and the words that name them.
_UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "盒": ("盒", "boxes", "box"), "袋": ("袋", "bags", "bag"), "箱": ("箱", "cases", "case", "cartons", "carton", "ctn"),
    "斤": ("斤", "jin"), "公斤": ("公斤", "千克", "kgs", "kg", "kilos", "kilo"), "克": ("克", "grams", "gram", "g"),
    "瓶": ("瓶", "bottles", "bottle", "btl"), "包": ("包", "packs", "pack", "packets", "packet", "pkt"),
    "件": ("件",), "个": ("个", "pieces", "piece", "pcs", "pc"), "罐": ("罐", "听", "cans", "can", "tins", "tin"),
    "桶": ("桶", "barrels", "barrel", "tubs", "tub"), "把": ("把", "bunches", "bunch"), "颗": ("颗", "棵", "heads", "head"),
    "提": ("提",), "排": ("排", "rows", "row"), "碗": ("碗", "bowls", "bowl"), "块": ("块", "blocks", "block"),
    "组": ("组",), "支": ("支",), "条": ("条",), "只": ("只",), "根": ("根",), "份": ("份", "portions", "portion"),
    "扎": ("扎",), "捆": ("捆",), "串": ("串",), "板": ("板",), "盘": ("盘",), "套": ("套",), "枚": ("枚",),
}
UNITS: dict[str, str] = {w: canon for canon, words in _UNIT_WORDS.items() for w in words}
"""Every unit word (lower case) -> its canonical Chinese unit."""
WEIGHT_JIN: dict[str, Decimal] = {"斤": Decimal(1), "公斤": Decimal(2), "克": Decimal("0.002")}
"""Weight units in 斤 (1 kg = 2 斤): a weight said in one converts to an item sold in another."""
GENERIC_UNITS = frozenset({"个", "件", "份"})
"""Classifiers that fit any item ("要个大白菜"): neither a match nor a mismatch."""

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
              "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_CN_MULT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10000}
_EN_NUM: dict[str, int | Decimal] = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "half": Decimal("0.5"), "a": 1, "an": 1}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_MULT) + "廿"

# Chinese units are single characters: longest words first so "公斤" wins over "斤".
_UNIT_RE = "|".join(sorted((re.escape(w) for w in UNITS if not w.isascii()), key=len, reverse=True))
_EN_UNIT_RE = "|".join(sorted((re.escape(w) for w in UNITS if w.isascii()), key=len, reverse=True))
_SIZE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s*(?:ml|毫升|l|升|层|连包|卷|枚|片|入)(?![a-z])(?:\s*[*x×]\s*\d+\s*(?:包|卷|瓶|袋|枚|支|个|罐|盒)?)?")
_NOT_QTY = re.compile(
    r"(?:单号|订单号|编号|电话|手机|微信号|tel|phone|no\.?|#)[:：\s]*\d+"
    r"|(?<![\d.])\d+\s*(?:号楼|栋|幢|单元)(?:\s*\d+\s*单元)?\s*\d*\s*(?:室|号)?"
    r"|(?<![\d.])\d{5,}"
    r"|(?<![\d.])\d+(?:\.\d+)?\s*(?:号|楼|室|点钟|点半|点|元|块钱|毛|角|路|弄|岁|年|月|日|%)")
"""Numbers that are never order quantities: phone and order numbers, house and room
numbers, times, prices, dates, percentages. They separate pieces like a comma."""
_RANGE = re.compile(r"\d+(?:\.\d+)?\s*(?:-|~|到|至)\s*$")
_QTY = re.compile(
    r"(?P<mul>(?<![a-z0-9.])[x×*]\s*(?P<mnum>\d+(?:\.\d+)?))"
    rf"|(?P<num>(?<![a-z0-9.])\d+(?:\.\d+)?|[{_CN_CHARS}]+|半|\b(?:{'|'.join(_EN_NUM)})\b)"
    rf"\s*(?P<unit>{_UNIT_RE}|(?<![a-z])(?:{_EN_UNIT_RE})(?![a-z]))?(?P<half>半)?"
    rf"|(?<=[来要拿买订留])(?P<bare>{_UNIT_RE})"
)
_SEP = re.compile(r"[\n+＋、,;。!?/|~:：；！？\t]+|\s+(?:and|&|plus)\s+|和|跟|还有|以及|另外|再加|然后")
_ENUM = re.compile(r"^\s*\d{1,2}\s*[.)、]\s*(?!\d)")
_WECHAT_EMOJI = re.compile(r"\[[^\[\]\s]{1,6}\]")

_NOISE_CN = sorted("""老板娘 老板 你好 您好 早上好 早安 晚上好 下午好 中午好 上午好 谢谢啦 谢谢 谢啦 谢了 感谢 多谢 麻烦你 麻烦 帮我留 帮我 帮忙
请问 请 在吗 在不在 哈哈 哈 呀 啊 啦 吧 哦 喔 呢 嗯 亲 想要 需要 我要 还要 要 再来 来 再加 加 给我 留 送到 送过来 送 到店里 到店 店里
明天 今天 后天 早上 上午 中午 下午 晚上 老规矩 下单 订单 订货 预定 预订 订 团购 接龙 有的话 没有的话 的话 没有 有吗 有 算了 的 一下 好的
吗 了 也 都 先 就 一共 总共 共 新鲜 买 拿 发 备 准备 早 嘿 喂 哟 哇 噢 呐 呗 好""".split(), key=len, reverse=True)
_NOISE_EN = frozenset("""hi hello hey dear boss please pls plz thanks thank thx you can could i i'd id we get have
want need like would order orders tomorrow today tonight some more also of the for me us send deliver and
again extra add morning good""".split())
_NOISE_CN_RE = re.compile("(?:" + "|".join(map(re.escape, _NOISE_CN)) + ")")
_NOISE_CN_END = re.compile("(?:" + "|".join(map(re.escape, _NOISE_CN)) + ")$")
_PUNCT = re.compile(r"[\s\"'`~!@#$%^&()\[\]{}<>:;,.?/\\|=_+*\-—…·•，。、！？；：“”‘’（）【】《》「」]+")


def normalize(text: str) -> str:
    """NFKC (full-width digits and punctuation to ASCII), lower case, WeChat ``[玫瑰]``
    codes and emoji removed, runs of spaces collapsed (newlines kept: they separate)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _WECHAT_EMOJI.sub(" ", text)
    text = _RARE.sub(_drop_symbol, text)  # only characters outside ASCII and CJK are looked at
    return _SPACES.sub(" ", text).strip()


_RARE = re.compile(r"[^\x00-\x7f\u3400-\u9fff\u3000-\u303f]")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def _drop_symbol(m: re.Match[str]) -> str:
    """Emoji, symbols, format and private-use characters become a space."""
    return " " if unicodedata.category(m.group()) in ("So", "Sk", "Cs", "Co", "Cf", "Mn") else m.group()


def key(text: str) -> str:
    """The comparison key: normalized, without spaces and punctuation (a decimal point
    between digits stays: ``1.8l``)."""
    text = normalize(text)
    text = re.sub(r"(?<=\d)\.(?=\d)", "\x00", text)
    return _PUNCT.sub("", text).replace("\x00", ".")


def is_ascii(text: str) -> bool:
    return text.isascii()


def has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def ascii_words(text: str) -> list[str]:
    """Lower-case English words with plurals folded (``cherries`` -> ``cherry``)."""
    return [_singular(w) for w in re.findall(r"[a-z0-9][a-z0-9'.]*", text.lower()) if w]


def _singular(w: str) -> str:
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("oes", "sses", "xes", "ches", "shes")):  # not "ses": cases -> case
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def cn_number(text: str) -> Decimal | None:
    """``两`` 2, ``十二`` 12, ``一百二十`` 120, ``廿`` 20, ``两百`` 200, ``半`` 0.5, ``贰`` 2;
    None when ``text`` is not a Chinese numeral."""
    if text == "半":
        return Decimal("0.5")
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_MULT and ch != "廿" for ch in text):
        return None
    total, section, digit = 0, 0, None
    for ch in text:
        if ch == "廿":
            section += 20
            digit = None
        elif ch in _CN_DIGITS:
            if digit is not None:  # "一二" is not a number
                return None
            digit = _CN_DIGITS[ch]
        else:
            mult = _CN_MULT[ch]
            if mult == 10000:
                total = (total + section + (digit or 0)) * mult
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * mult
                digit = None
    return Decimal(total + section + (digit or 0))


def _number(raw: str) -> Decimal | None:
    raw = raw.strip()
    if raw in _EN_NUM:
        return Decimal(_EN_NUM[raw])
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return Decimal(raw)
    return cn_number(raw)


def strip_noise(text: str) -> str:
    """``text`` without greetings, politeness and filler at its ends ("老板，要…谢谢",
    "can I get … please"); the middle is left alone (item names may contain such words)."""
    t = text.strip()
    if has_cjk(t):
        prev = None
        while prev != t:
            prev = t
            t = _PUNCT.sub(" ", t).strip()
            m = _NOISE_CN_RE.match(t)
            if m:
                t = t[m.end():]
            m2 = _NOISE_CN_END.search(t)
            if m2:
                t = t[:m2.start()]
    words = t.split()
    while words and words[0].strip(".,!?:") in _NOISE_EN:
        words.pop(0)
    while words and words[-1].strip(".,!?:") in _NOISE_EN:
        words.pop()
    return " ".join(words)


@dataclass
class Piece:
    """One item mention: its quantity and unit as said (None when not said) and its text."""

    qty: Decimal | None
    unit: str | None
    text: str
    raw: str
    approx: bool = False  # a range ("2-3斤"): a question for a person


@dataclass
class _Token:
    start: int
    end: int
    qty: Decimal
    unit: str | None
    approx: bool = False


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            chars[i] = MASK
    masked = "".join(chars)
    for m in _SIZE.finditer(masked):  # sizes (330ml, 3层*10包) are part of the item, never a quantity
        masked = masked[:m.start()] + MASK * (m.end() - m.start()) + masked[m.end():]
    return masked


def _tokens(seg: str, masked: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _QTY.finditer(masked):
        if m.group("mul"):
            out.append(_Token(m.start(), m.end(), Decimal(m.group("mnum")), None))
            continue
        if m.group("bare"):
            out.append(_Token(m.start(), m.end(), Decimal(1), UNITS[m.group("bare")]))
            continue
        num = m.group("num")
        value = _number(num)
        unit = UNITS.get(m.group("unit") or "")
        if value is None or value <= 0:
            continue  # "0" is not an order quantity
        cn = not num.isascii()
        if (cn or num in ("a", "an")) and unit is None:
            continue  # a Chinese numeral or "a" without a unit is part of a word ("五常", "a")
        if m.group("half"):
            value += Decimal("0.5")
        approx = bool(_RANGE.search(masked[max(0, m.start() - 24):m.start()]))  # a bounded look back
        if approx and out:
            out.pop()  # the range's lower end
        out.append(_Token(m.start(), m.end(), value, unit, approx))
    # A weight right before another quantity is a size: "五常大米5kg 2袋".
    kept = []
    for i, tok in enumerate(out):
        nxt = out[i + 1] if i + 1 < len(out) else None
        if tok.unit in ("公斤", "克") and nxt is not None and not seg[tok.end:nxt.start].strip():
            continue
        kept.append(tok)
    return kept


def _content(text: str) -> str:
    return key(strip_noise(text))


def _segment_pieces(seg: str, masked: str) -> list[Piece]:
    toks = _tokens(seg, masked)
    if not toks:
        return [Piece(None, None, seg, seg)] if _content(seg) else []
    gaps = [seg[:toks[0].start]] + [seg[a.end:b.start] for a, b in zip(toks, toks[1:], strict=False)] + [seg[toks[-1].end:]]
    first, last = bool(_content(gaps[0])), bool(_content(gaps[-1]))
    pieces: list[Piece] = []
    if not first:
        # quantity first: each quantity owns the text after it
        for i, tok in enumerate(toks):
            pieces.append(Piece(tok.qty, tok.unit, gaps[i + 1], seg[tok.start:toks[i + 1].start] if i + 1 < len(toks)
                                else seg[tok.start:], tok.approx))
        if first:
            pieces.insert(0, Piece(None, None, gaps[0], gaps[0]))
        return pieces
    # item first: each quantity owns the text before it; what trails is a piece of its own
    for i, tok in enumerate(toks):
        pieces.append(Piece(tok.qty, tok.unit, gaps[i], seg[(toks[i - 1].end if i else 0):tok.end], tok.approx))
    if last:
        pieces.append(Piece(None, None, gaps[-1], gaps[-1]))
    return pieces


def split_pieces(text: str, protected: Sequence[tuple[int, int]] = ()) -> list[Piece]:
    """The pieces of a normalized message: split at separators (``+ 、 ， , ; 和 跟 and``,
    newlines...) outside ``protected`` spans, then at each quantity: "2盒蓝莓1袋山药" and
    "蓝莓2盒 山药1袋" both give two pieces. A piece with a quantity and no text takes the
    text of a previous piece that had no quantity ("有蓝莓吗？有的话来2盒")."""
    masked = _mask(text, protected)
    pieces: list[Piece] = []
    pos = 0
    bounds = sorted([(m.start(), m.end()) for m in _SEP.finditer(masked)]
                    + [(m.start(), m.end()) for m in _NOT_QTY.finditer(masked)]) + [(len(text), len(text))]
    for a, b in bounds:
        if a < pos:  # overlapping bounds
            pos = max(pos, b)
            continue
        seg, mseg = text[pos:a], masked[pos:a]
        pos = b
        em = _ENUM.match(mseg)
        if em:
            seg, mseg = seg[em.end():], mseg[em.end():]
        if seg.strip():
            pieces.extend(_segment_pieces(seg, mseg))
    merged: list[Piece] = []
    for p in pieces:
        if p.qty is not None and not _content(p.text) and merged and merged[-1].qty is None:
            prev = merged.pop()
            merged.append(Piece(p.qty, p.unit, prev.text, prev.raw + " " + p.raw, p.approx))
        else:
            merged.append(p)
    return merged
