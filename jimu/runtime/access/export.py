"""Exports (CSV, XLSX) of the rows and fields a caller may export, values as they may
see them (masked values masked, hidden fields absent). Every export path (API, screens)
writes through :func:`to_csv` / :func:`to_xlsx`, which neutralise formula cells."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from jimu.runtime.access.policy import AccessPolicy

__all__ = ["export_rows", "to_csv", "to_xlsx", "EXPORT_MAX_ROWS", "neutralise", "FORMULA_START"]

EXPORT_MAX_ROWS = 100_000


def export_rows(policy: AccessPolicy, entity: str, *, filter: str | None = None) -> tuple[list[str], Iterator[dict[str, Any]]]:
    """(column names, rendered rows) for an export; needs the export and read rights."""
    policy.require(entity, "read")
    policy.require(entity, "export")
    ent = policy.rt.entity(entity)
    columns = ["id"] + [n for n in policy.readable_fields(entity) if (f := ent.field(n)) is not None
                        and f.type != "child_table"]
    clauses = [c for c in (policy.row_clause(entity, "read"), policy.row_clause(entity, "export")) if c is not None]
    where = sa.and_(*clauses) if clauses else None

    def rows() -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        seen = 0
        while True:
            result = policy.jimu.records.list(policy.app, entity, where=where, filter=filter, sort="id", limit=500,
                                              cursor=cursor, actor=policy.actor)
            for rec in result.data:
                yield policy.render(entity, rec, fields=columns)
                seen += 1
                if seen >= EXPORT_MAX_ROWS:
                    return
            cursor = result.next_cursor
            if cursor is None:
                return

    return columns, rows()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""
_NUMBER_RE = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def neutralise(text: str) -> str:
    """``text`` safe to open in Excel/LibreOffice/WPS: a cell starting with ``= + - @``,
    a tab or a carriage return gets a leading ``'`` so it is shown as text and never run
    (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|...``). A plain number such as
    ``-12.50`` (decimals are exported as text) is left as it is: it cannot be a formula."""
    if text.startswith(FORMULA_START) and not _NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def _cell(value: Any) -> Any:
    """One exported cell: lists and objects as JSON text, every text neutralised."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    return neutralise(value) if isinstance(value, str) else value


def to_csv(columns: list[str], rows: Iterator[dict[str, Any]]) -> bytes:
    """UTF-8 CSV with a BOM (Excel opens Chinese text correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(columns: list[str], rows: Iterator[dict[str, Any]], title: str = "export") -> bytes:
    """An XLSX workbook (openpyxl, write-only); decimals stay text so nothing is rounded.
    Control characters a worksheet cannot hold (text may contain them: the API stores what
    it is sent) are left out of the cell instead of failing the whole export with a 500."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31] or "export")
    ws.append([neutralise(c) for c in columns])
    for row in rows:
        cells = [_cell(row.get(c)) for c in columns]
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in cells])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
