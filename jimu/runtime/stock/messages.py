"""Stock errors in the caller's language (a localizer, see :mod:`jimu.runtime.localize`).

The ledger raises ``stock.insufficient`` with ids (``item 169, warehouse 1``) and exact
numbers in ``extra``: ``lines: [{dims, requested, bucket, available}]`` for a guarded
move, or ``dims`` / ``requested`` / ``available`` for an allocation (``unexpired``: only
stock that has not expired counted). Returns raise ``return.exceeds`` with ``lines:
[{item, requested, moved, direction, returned, returnable}]``. This module rewrites their
message and field errors in zh or en, naming the item as ``sku name``, the warehouse and
batch by name, with the quantity asked and the quantity there. Names are read straight
from the app's tables (a stock error must name the item even to a role that may not list
items); ``extra`` stays as raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from jimu.core.errors import FieldError, JimuError
from jimu.platform.ledger.spec import dim_text
from jimu.runtime.localize import LANGS, register

__all__ = ["item_labels", "localize_stock_error", "qty_text"]

_BUCKET = {"available": ("可用", "available"), "on_hand": ("在手", "on hand"), "reserved": ("预留", "reserved"),
           "in_transit": ("在途", "in transit"), "on_order": ("在订", "on order"), "quarantine": ("隔离", "quarantine")}
_DIRECTION = {"shipped": ("原订单已发货", "shipped", "发货"), "received": ("原订单已收货", "received", "收货")}


def qty_text(value: Any) -> str:
    """A quantity as people write it: ``8.0000`` -> ``8``, ``2.5000`` -> ``2.5``."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = format(d.normalize(), "f")
    return text


def _names(jimu: Any, app: str, entity: str, ids: Iterable[Any], fields: tuple[str, ...]) -> dict[str, str]:
    """id text -> the record's ``fields`` joined by a space (missing records left out)."""
    keys = sorted({t for t in (dim_text(i) for i in ids) if t is not None})
    if not keys:
        return {}
    rt = jimu.apps.get(app)
    if rt.spec.entity(entity) is None:
        return {}
    table = rt.tables(entity)
    cols = [table.c[f] for f in fields if f in table.c]
    int_ids = [int(k) for k in keys if k.lstrip("-").isdigit()]
    if not cols or not int_ids:
        return {}
    with jimu.db.read() as conn:
        rows = conn.execute(sa.select(table.c.id, *cols).where(table.c.id.in_(int_ids))).all()
    return {str(r[0]): " ".join(str(v) for v in r[1:] if v not in (None, "")) for r in rows}


def item_labels(jimu: Any, app: str, ids: Iterable[Any]) -> dict[str, str]:
    """id text -> ``sku name`` of the app's items."""
    return _names(jimu, app, "item", ids, ("sku", "name"))


def _where(names: Mapping[str, dict[str, str]], dims: Mapping[str, Any], lang: str) -> str:
    wh = names["warehouse"].get(dim_text(dims.get("warehouse")) or "", dim_text(dims.get("warehouse")) or "")
    batch = names["batch"].get(dim_text(dims.get("batch")) or "", dim_text(dims.get("batch")) or "")
    if lang == "en":
        return (f" at {wh}" if wh else "") + (f", batch {batch}" if batch else "")
    inner = "，".join(x for x in (f"仓库 {wh}" if wh else "", f"批次 {batch}" if batch else "") if x)
    return f"（{inner}）" if inner else ""


def _short(label: str, where: str, requested: Any, bucket: str, have: Any, lang: str, unexpired: bool) -> str:
    zh_b, en_b = _BUCKET.get(bucket, (bucket, bucket))
    if lang == "en":
        what = "unexpired stock" if unexpired else "stock"
        return f"Not enough {what} of {label}{where}: requested {qty_text(requested)}, {en_b} {qty_text(have)}"
    what = "未过期库存" if unexpired else "库存"
    return f"{label}{where}{what}不足：需要 {qty_text(requested)}，{zh_b} {qty_text(have)}"


def _all_dims(exc: JimuError) -> list[Mapping[str, Any]]:
    lines = exc.extra.get("lines")
    if isinstance(lines, list) and lines and all(isinstance(x, Mapping) and "dims" in x for x in lines):
        return [x["dims"] for x in lines]
    if isinstance(exc.extra.get("dims"), Mapping):
        return [exc.extra["dims"]]
    return []


def _insufficient(jimu: Any, app: str, exc: JimuError, lang: str) -> None:
    dims_list = _all_dims(exc)
    if not dims_list:
        return
    names = {"item": item_labels(jimu, app, (d.get("item") for d in dims_list)),
             "warehouse": _names(jimu, app, "warehouse", (d.get("warehouse") for d in dims_list), ("name",)),
             "batch": _names(jimu, app, "batch", (d.get("batch") for d in dims_list), ("batch_no",))}
    if exc.extra.get("channel") is not None:
        _channel(names, exc, lang)
        return
    messages: dict[str, list[str]] = {code: [] for code in LANGS}
    lines = exc.extra.get("lines") if isinstance(exc.extra.get("lines"), list) else None
    rows = lines if lines else [{"dims": exc.extra["dims"], "requested": exc.extra.get("requested"),
                                 "available": exc.extra.get("available"), "bucket": "available"}]
    for row in rows:
        dims = row["dims"]
        key = dim_text(dims.get("item")) or ""
        row["item_label"] = names["item"].get(key) or key
        for code in LANGS:
            where = _where(names, dims, code)
            messages[code].append(_short(names["item"].get(key) or (f"item {key}" if code == "en" else f"商品 {key}"),
                                         where, row.get("requested"), str(row.get("bucket") or "available"),
                                         row.get("available"), code, bool(exc.extra.get("unexpired"))))
    _rewrite(exc, messages, lang)


def _channel(names: Mapping[str, dict[str, str]], exc: JimuError, lang: str) -> None:
    """A sales channel's pool refused: no pool, paused, or its allotment short."""
    x = exc.extra
    dims, ch, why = x["dims"], x["channel"], x.get("why")
    key = dim_text(dims.get("item")) or ""
    out: dict[str, list[str]] = {}
    for code in LANGS:
        label = names["item"].get(key) or (f"item {key}" if code == "en" else f"商品 {key}")
        where = _where(names, dims, code)
        if code == "en":
            text = (f"Channel {ch} has no stock pool for {label}{where}" if why == "no_pool" else
                    f"Channel {ch} is paused for {label}{where}: its allotment {qty_text(x.get('allotted'))} is below "
                    f"its threshold" if why == "paused" else
                    f"Not enough stock in channel {ch} for {label}{where}: requested {qty_text(x.get('requested'))}, "
                    f"allotted {qty_text(x.get('allotted'))}")
        else:
            text = (f"渠道 {ch} 没有 {label}{where} 的库存池" if why == "no_pool" else
                    f"渠道 {ch} 已暂停销售 {label}{where}：分配量 {qty_text(x.get('allotted'))} 低于阈值" if why == "paused"
                    else f"渠道 {ch} 的 {label}{where}库存不足：需要 {qty_text(x.get('requested'))}，"
                         f"分配量 {qty_text(x.get('allotted'))}")
        out[code] = [text]
    _rewrite(exc, out, lang)


def _exceeds(jimu: Any, app: str, exc: JimuError, lang: str) -> None:
    rows = exc.extra.get("lines")
    if not isinstance(rows, list) or not rows:
        return
    labels = item_labels(jimu, app, (r.get("item") for r in rows))
    messages: dict[str, list[str]] = {code: [] for code in LANGS}
    for r in rows:
        key = dim_text(r.get("item")) or ""
        r["item_label"] = labels.get(key) or key
        zh_moved, en_moved, zh_word = _DIRECTION.get(str(r.get("direction")), _DIRECTION["shipped"])
        label = labels.get(key) or f"item {key}"
        messages["en"].append(f"Return of {label} exceeds what was {en_moved}: requested {qty_text(r.get('requested'))}, "
                            f"{en_moved} {qty_text(r.get('moved'))}, already returned {qty_text(r.get('returned'))}, "
                            f"returnable {qty_text(r.get('returnable'))}")
        label = labels.get(key) or f"商品 {key}"
        messages["zh"].append(f"{label} 退货数量超过可退数量：申请退货 {qty_text(r.get('requested'))}，{zh_moved} "
                            f"{qty_text(r.get('moved'))}，此前已退 {qty_text(r.get('returned'))}，最多还可退 "
                            f"{qty_text(r.get('returnable'))}（按{zh_word}数量减去已退数量）")
    _rewrite(exc, messages, lang)


def _rewrite(exc: JimuError, messages: Mapping[str, list[str]], lang: str) -> None:
    """The message in ``lang`` (the first line, "and N more") and the field error messages
    in order; ``extra["messages"]`` holds the summary in both languages."""
    if not messages.get(lang):
        return
    summary = {}
    for code, texts in messages.items():
        more = len(texts) - 1
        summary[code] = texts[0] + ("" if not more else (f" (and {more} more)" if code == "en" else f"（另有 {more} 行）"))
    exc.message = summary[lang]
    exc.args = (exc.message,)
    texts = messages[lang]
    exc.errors = [FieldError(e.field, e.code, texts[i]) if i < len(texts) else e for i, e in enumerate(exc.errors)]
    exc.extra["messages"] = summary


@register
def localize_stock_error(jimu: Any, app: str, exc: JimuError, lang: str) -> None:
    """The localizer of stock errors (``stock.insufficient``, ``return.exceeds``)."""
    if exc.code == "stock.insufficient":
        _insufficient(jimu, app, exc, lang)
    elif exc.code == "return.exceeds":
        _exceeds(jimu, app, exc, lang)
