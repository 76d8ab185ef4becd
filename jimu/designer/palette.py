"""The field palette: every field type with its bilingual name, an icon and a group.

A completeness test checks that every type of ``FIELD_TYPES`` is on the palette."""

from __future__ import annotations

from typing import Any

__all__ = ["PALETTE", "palette"]

# type -> (zh, en, icon, group)
PALETTE: dict[str, tuple[str, str, str, str]] = {
    "text": ("单行文本", "Text", "Aa", "basic"),
    "long_text": ("多行文本", "Long text", "¶", "basic"),
    "integer": ("整数", "Integer", "123", "number"),
    "decimal": ("小数", "Decimal", "1.5", "number"),
    "money": ("金额", "Money", "¥", "number"),
    "percent": ("百分比", "Percent", "%", "number"),
    "boolean": ("是/否", "Yes/No", "☑", "basic"),
    "date": ("日期", "Date", "📅", "time"),
    "datetime": ("日期时间", "Date & time", "🕒", "time"),
    "duration": ("时长", "Duration", "⏱", "time"),
    "choice": ("单选", "Choice", "◉", "basic"),
    "multi_choice": ("多选", "Multi choice", "☰", "basic"),
    "link": ("关联", "Link", "🔗", "relation"),
    "child_table": ("子表", "Child table", "▦", "relation"),
    "user": ("用户", "User", "👤", "relation"),
    "attachment": ("附件", "Attachment", "📎", "media"),
    "image": ("图片", "Image", "🖼", "media"),
    "email": ("邮箱", "Email", "@", "contact"),
    "phone": ("电话", "Phone", "☎", "contact"),
    "url": ("网址", "URL", "🌐", "contact"),
    "barcode": ("条码", "Barcode", "▥", "contact"),
    "geo": ("位置", "Location", "📍", "contact"),
    "formula": ("公式", "Formula", "ƒx", "advanced"),
    "auto_number": ("自动编号", "Auto number", "#", "advanced"),
    "json": ("JSON", "JSON", "{}", "advanced"),
}


def palette() -> list[dict[str, Any]]:
    """The palette as JSON rows, in display order."""
    return [{"type": t, "zh": zh, "en": en, "icon": icon, "group": group}
            for t, (zh, en, icon, group) in PALETTE.items()]
