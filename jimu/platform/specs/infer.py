"""Field type inference from a business-language label (成本价 → money, 手机 → phone).

A pure function shared by the designer (a field dropped as plain text gets a better type
as soon as its label is typed) and the import preview (columns of a spreadsheet).

How it decides: ``是否…`` / ``is …`` / ``has …`` are booleans; otherwise every keyword
found in the label is a candidate and the one that *ends last* wins, because the head
noun of a Chinese (and usually an English) compound comes last: 价格类型 is a type
(choice), 类型价格 a price (money), 库存金额 an amount (money), 生产日期 a date.
Ties go to the longer keyword. Unknown labels are text.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["infer_field_type", "RULES"]

# (field type, options, Chinese keywords, English words). Options are copied per call.
RULES: list[tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...]]] = [
    ("money", {"currency": "CNY"}, ("成本价", "单价", "金额", "价格", "售价", "进价", "价", "费用", "费", "货款", "余额",
                                    "工资", "薪资", "总额"),
     ("price", "cost", "amount", "fee", "fees", "salary", "balance", "total", "payment", "revenue")),
    ("phone", {}, ("手机", "电话", "联系电话", "手机号", "座机"), ("phone", "mobile", "tel", "telephone", "cellphone")),
    ("email", {}, ("邮箱", "电子邮件", "邮件"), ("email", "e-mail", "mail")),
    ("date", {}, ("日期", "到期", "生日", "生产日期", "有效期", "保质期至"),
     ("date", "expiry", "expires", "due", "birthday", "dob")),
    ("datetime", {}, ("时间", "时刻"), ("time", "datetime", "timestamp")),
    ("decimal", {"precision": 18, "scale": 4}, ("数量", "库存", "重量", "体积", "长度", "面积"),
     ("quantity", "qty", "stock", "weight", "volume", "length", "area")),
    ("integer", {}, ("次数", "年龄", "天数", "件数", "评分", "满意度", "序号"), ("count", "age", "days", "rating", "score", "rank")),
    ("percent", {}, ("百分比", "比例", "税率", "折扣率", "率"), ("percent", "percentage", "rate", "ratio")),
    ("long_text", {}, ("备注", "说明", "描述", "详情", "意见", "内容", "摘要"),
     ("note", "notes", "remark", "remarks", "description", "comment", "comments", "memo", "details")),
    ("image", {}, ("图片", "照片", "头像", "图像", "相片"), ("image", "photo", "picture", "avatar", "logo")),
    ("attachment", {}, ("附件", "文件", "合同扫描件"), ("attachment", "file", "document")),
    ("url", {}, ("网址", "网站", "链接"), ("url", "website", "link", "homepage")),
    ("barcode", {}, ("条码", "条形码", "二维码"), ("barcode", "ean", "upc", "qr")),
    ("choice", {"choices": []}, ("状态", "类型", "类别", "分类", "等级", "级别", "性别", "方式", "渠道"),
     ("status", "state", "type", "category", "kind", "level", "grade", "gender", "channel", "method")),
]

_BOOL_ZH = re.compile(r"^\s*(是否|有无|能否|可否)")
_BOOL_EN = re.compile(r"^\s*(is|has|can|allow|allows|enable|enabled)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]*")


def _candidates(label: str) -> list[tuple[int, int, int, str, dict[str, Any]]]:
    """(end, keyword length, -rule order, type, options) for every keyword in ``label``."""
    out: list[tuple[int, int, int, str, dict[str, Any]]] = []
    lower = label.lower()
    words = [(m.group(0).lower(), m.end()) for m in _WORD.finditer(label)]
    for order, (ftype, options, zh_words, en_words) in enumerate(RULES):
        for kw in zh_words:
            end = lower.rfind(kw)
            if end >= 0:
                out.append((end + len(kw), len(kw), -order, ftype, options))
        for word, end in words:
            if word in en_words or (word.endswith("s") and word[:-1] in en_words):
                out.append((end, len(word), -order, ftype, options))
    return out


def infer_field_type(label: str) -> tuple[str, dict[str, Any]]:
    """The most likely field type of a field labelled ``label`` and its default options.

    >>> infer_field_type("成本价")
    ('money', {'currency': 'CNY'})
    >>> infer_field_type("是否启用")
    ('boolean', {})
    """
    text = (label or "").strip()
    if not text:
        return "text", {}
    if _BOOL_ZH.search(text) or _BOOL_EN.search(text):
        return "boolean", {}
    found = _candidates(text)
    if not found:
        return "text", {}
    _end, _length, _order, ftype, options = max(found, key=lambda c: (c[0], c[1], c[2]))
    return ftype, {k: (list(v) if isinstance(v, list) else v) for k, v in options.items()}
