"""Reading an uploaded spreadsheet (CSV or XLSX) into a header row and data rows.

Why its own module: the file is untrusted input. Size, row and column counts are bounded
before anything is kept; CSV is decoded as UTF-8 (with or without BOM) and falls back to
GB18030, which is what spreadsheet programs on Chinese Windows save; XLSX is read with
openpyxl in read-only mode (values only: formulas are never evaluated, a cached result is
taken as the value). Cells come back as ``str``/``int``/``float``/``Decimal``/``date``/
``datetime``/``bool`` or None; interpreting them is :mod:`import_infer`'s job.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from jimu.core.errors import FieldError, ValidationError

__all__ = ["Sheet", "read_sheet", "MAX_ROWS", "MAX_COLUMNS"]

MAX_ROWS = 200_000
MAX_COLUMNS = 100
MAX_CELL = 4000


@dataclass
class Sheet:
    """The header labels and the data rows (each as long as the header)."""

    headers: list[str]
    rows: list[list[Any]]


def _bad(message: str, code: str = "import.file") -> ValidationError:
    return ValidationError(message, code=code, errors=[FieldError("file", code, message)])


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise _bad("文件不是 UTF-8 或 GBK 编码的文本 / the CSV file is neither UTF-8 nor GBK text")


def _csv_rows(data: bytes) -> list[list[Any]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _bad(f"无法读取 XLSX 文件 / not a readable XLSX file ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            return []
        out: list[list[Any]] = []
        for row in ws.iter_rows(values_only=True):
            if len(out) > MAX_ROWS + 1:
                raise _bad(f"最多导入 {MAX_ROWS} 行 / at most {MAX_ROWS} rows per import", "import.too_many_rows")
            out.append(list(row))
        return out
    finally:
        wb.close()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The first sheet of an XLSX file (by its zip signature or ``.xlsx`` name), else CSV.

    Blank rows are dropped, trailing blank columns too; a header cell left empty is named
    ``列N / column N``. 422 ``import.file`` for an unreadable or empty file,
    ``import.too_many_rows`` / ``import.too_many_columns`` beyond the limits."""
    is_xlsx = data[:4] == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm"))
    raw = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    raw = [r for r in raw if not all(_blank(v) for v in r)]
    if not raw:
        raise _bad("文件是空的 / the file has no rows")
    if len(raw) - 1 > MAX_ROWS:
        raise _bad(f"最多导入 {MAX_ROWS} 行 / at most {MAX_ROWS} rows per import", "import.too_many_rows")
    header = raw[0]
    width = max(len(r) for r in raw)
    while width and all(len(r) < width or _blank(r[width - 1]) for r in raw):
        width -= 1
    if width > MAX_COLUMNS:
        raise _bad(f"最多 {MAX_COLUMNS} 列 / at most {MAX_COLUMNS} columns", "import.too_many_columns")
    headers = []
    for i in range(width):
        h = header[i] if i < len(header) else None
        text = "" if h is None else str(h).strip()[:200]
        headers.append(text or f"列{i + 1} / column {i + 1}")
    rows = []
    for r in raw[1:]:
        cells = [(r[i] if i < len(r) else None) for i in range(width)]
        rows.append([c[:MAX_CELL] if isinstance(c, str) else c for c in cells])
    return Sheet(headers, rows)
