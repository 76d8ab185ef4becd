"""infer_field_type: the label → type table (Chinese and English) and its tie-breaking."""

from __future__ import annotations

import pytest

from jimu.designer.infer import infer_field_type
from jimu.designer.palette import PALETTE
from jimu.platform.specs import FIELD_TYPES

TABLE = [
    ("成本价", "money"), ("单价", "money"), ("金额", "money"), ("价格", "money"), ("库存金额", "money"),
    ("手机", "phone"), ("电话", "phone"), ("客户电话", "phone"), ("邮箱", "email"),
    ("生产日期", "date"), ("日期", "date"), ("到期", "date"), ("回访日期", "date"),
    ("数量", "decimal"), ("库存", "decimal"), ("是否启用", "boolean"), ("是否加急", "boolean"),
    ("备注", "long_text"), ("说明", "long_text"), ("图片", "image"), ("状态", "choice"), ("类型", "choice"),
    ("价格类型", "choice"), ("客户名称", "text"), ("日本", "text"), ("", "text"),
    ("Unit price", "money"), ("Cost", "money"), ("Amount", "money"), ("Mobile", "phone"), ("Phone number", "phone"),
    ("Email", "email"), ("Expiry date", "date"), ("Production date", "date"), ("Quantity", "decimal"),
    ("Stock", "decimal"), ("Is active", "boolean"), ("Has invoice", "boolean"), ("Notes", "long_text"),
    ("Description", "long_text"), ("Photo", "image"), ("Status", "choice"), ("Type", "choice"),
    ("Customer name", "text"), ("Prototype", "text"),
]


@pytest.mark.parametrize(("label", "expected"), TABLE)
def test_infer_table(label: str, expected: str) -> None:
    assert infer_field_type(label)[0] == expected


def test_options_are_fresh_copies() -> None:
    ftype, options = infer_field_type("状态")
    assert ftype == "choice" and options == {"choices": []}
    options["choices"].append("x")
    assert infer_field_type("状态")[1] == {"choices": []}
    assert infer_field_type("成本价")[1] == {"currency": "CNY"}
    assert infer_field_type("数量")[1]["scale"] == 4


def test_every_inferred_type_is_a_field_type_on_the_palette() -> None:
    from jimu.designer.infer import RULES

    for ftype, *_ in RULES:
        assert ftype in FIELD_TYPES
    assert set(PALETTE) == set(FIELD_TYPES)
