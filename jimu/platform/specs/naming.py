"""Names of user-defined elements: identifier rules, reserved words, names from labels."""

from __future__ import annotations

import re

from jimu.core.ids import is_identifier

__all__ = ["SYSTEM_COLUMNS", "RESERVED_WORDS", "name_problem", "name_from_label"]

SYSTEM_COLUMNS = frozenset(
    {"id", "version", "created_at", "updated_at", "created_by", "updated_by", "_parent_id", "_idx"}
)

# SQL words that break or confuse generated SQL on SQLite or PostgreSQL when used as names.
RESERVED_WORDS = frozenset(
    """
    all alter analyse analyze and any array as asc asymmetric authorization begin between binary
    both case cast check collate column commit constraint create cross current_catalog current_date
    current_role current_time current_timestamp current_user default deferrable delete desc distinct
    do drop else end except exists false fetch for foreign freeze from full grant group having ilike
    in index initially inner insert intersect into is isnull join lateral leading left like limit
    localtime localtimestamp natural not notnull null offset on only or order outer over overlaps
    placing primary references returning right rollback select session_user similar some symmetric
    table tablesample then to trailing transaction trigger true union unique update user using
    values variadic verbose view when where window with
    """.split()
)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an element, or None when it can."""
    if not is_identifier(name):
        return (
            f"'{name}' is not a valid name: use lower-case letters, digits and underscores, "
            "starting with a letter, at most 63 characters"
        )
    if name in RESERVED_WORDS:
        return f"'{name}' is a reserved SQL word; choose another name (e.g. '{name}_value')"
    return None


_NON_WORD = re.compile(r"[^a-z0-9]+")


def name_from_label(label: str) -> str:
    """A readable identifier for a label: pinyin for Chinese (成本价 -> cheng_ben_jia),
    lower-cased words otherwise. The user can rename it afterwards."""
    from pypinyin import lazy_pinyin

    parts = lazy_pinyin(label.strip())
    text = "_".join(p.strip().lower() for p in parts if p.strip())
    text = _NON_WORD.sub("_", text).strip("_")
    text = re.sub(r"_+", "_", text)
    if not text:
        text = "field"
    if not text[0].isalpha():
        text = "f_" + text
    text = text[:63].rstrip("_")
    if text in RESERVED_WORDS or text in SYSTEM_COLUMNS:
        text = f"{text}_value"
    return text
