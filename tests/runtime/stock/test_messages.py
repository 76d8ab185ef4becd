"""The stock error localizer (jimu.runtime.stock.messages): every stock refusal names the
item as ``sku name`` and the warehouse by name, in zh or en, with the quantities asked and
there; the raised numbers stay in ``extra``."""

from __future__ import annotations

from typing import Any

import pytest

from jimu.core.errors import StockConflict
from jimu.platform.ledger import MoveLine, as_ledger, post
from jimu.runtime.localize import localize
from jimu.runtime.stock import configure_channels, reserve_via_channel
from jimu.templates_market.installer import install_template

APP = "standard"


@pytest.fixture
def std(jimu: Any) -> dict[str, Any]:
    install_template(jimu, APP, "standard", sample_data=False)
    wh = jimu.records.create(APP, "warehouse", {"name": "杭州仓", "confirm_code": "1"})["id"]
    x = jimu.records.create(APP, "item", {"sku": "X-1", "name": "螺母"})["id"]
    y = jimu.records.create(APP, "item", {"sku": "Y-2", "name": "垫片"})["id"]
    return {"wh": wh, "x": x, "y": y, "lg": as_ledger(jimu.apps.get(APP).spec.ledger("stock"))}


def _raise(jimu: Any, fn: Any) -> StockConflict:
    with pytest.raises(StockConflict) as info, jimu.db.write() as c:
        fn(c)
    return info.value


def test_two_short_lines_in_both_languages(jimu: Any, std: dict[str, Any]) -> None:
    """Mutation caught: only the first line renamed (the second field error keeps ids)."""
    lines = [MoveLine({"item": std["x"], "warehouse": std["wh"]}, "3"),
             MoveLine({"item": std["y"], "warehouse": std["wh"]}, "1.5")]
    exc = _raise(jimu, lambda c: post(c, APP, std["lg"], "ship", lines))
    localize(jimu, APP, exc, "zh")
    assert exc.message == "X-1 螺母（仓库 杭州仓）库存不足：需要 3，可用 0（另有 1 行）"
    assert [e.message for e in exc.errors] == ["X-1 螺母（仓库 杭州仓）库存不足：需要 3，可用 0",
                                               "Y-2 垫片（仓库 杭州仓）库存不足：需要 1.5，可用 0"]
    assert exc.extra["messages"]["en"] == ("Not enough stock of X-1 螺母 at 杭州仓: requested 3, available 0 "
                                           "(and 1 more)")
    assert exc.extra["lines"][1]["requested"] == "1.5000"  # exact numbers kept


def test_channel_refusal_names_the_item(jimu: Any, std: dict[str, Any]) -> None:
    """Mutation caught: the channel message keeping "item 1, warehouse 1"."""
    dims = {"item": std["x"], "warehouse": std["wh"]}
    with jimu.db.write() as c:
        post(c, APP, std["lg"], "receipt", [MoveLine(dims, "8")])
        configure_channels(c, APP, std["lg"], std["x"], std["wh"], {"online": {"weight": 1, "threshold": 0},
                                                                    "store": {"weight": 1, "threshold": 0}})
    exc = _raise(jimu, lambda c: reserve_via_channel(c, APP, std["lg"], "online", dims, "5"))
    localize(jimu, APP, exc, "en")
    assert exc.message == "Not enough stock in channel online for X-1 螺母 at 杭州仓: requested 5, allotted 4"
    assert exc.extra["messages"]["zh"] == "渠道 online 的 X-1 螺母（仓库 杭州仓）库存不足：需要 5，分配量 4"


def test_fefo_shortage_names_the_item_and_says_unexpired(jimu: Any, std: dict[str, Any]) -> None:
    """Mutation caught: the allocation's refusal (no ``dims`` in extra) left in ids."""
    from jimu.platform.ledger import Ledger, allocate_fefo

    lg = Ledger("stock", ("item", "warehouse", "batch"), required=("item", "warehouse"))
    exc = _raise(jimu, lambda c: allocate_fefo(c, APP, lg, std["x"], std["wh"], "5", lambda b: None))
    localize(jimu, APP, exc, "zh")
    assert exc.message == "X-1 螺母（仓库 杭州仓）未过期库存不足：需要 5，可用 0"
    assert exc.extra["messages"]["en"] == "Not enough unexpired stock of X-1 螺母 at 杭州仓: requested 5, available 0"
