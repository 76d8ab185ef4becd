"""Keyboard only, in a browser: Tab walks a form's inputs in order and each has an
accessible name; Enter saves it; a workflow button is reached with Tab and fired with
Enter; a transition that asks for inputs is completed inside its dialog by keyboard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import api, login_page

pytestmark = pytest.mark.e2e

CONTROLS = "input:not([type=hidden]), select, textarea"
_FOCUS = """() => { const e = document.activeElement; if (!e || e === document.body) return null;
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name') || '', id: e.id || '',
          transition: e.dataset.transition || '', inForm: !!e.closest('form.record-form'),
          inDialog: !!e.closest('dialog[open]'), text: (e.innerText || '').trim()}; }"""


def _focused(page: Any) -> dict[str, Any] | None:
    return page.evaluate(_FOCUS)  # type: ignore[no-any-return]


def _tab_to(page: Any, match: Any, limit: int = 80) -> list[dict[str, Any]]:
    """Press Tab until the focused element satisfies ``match``; the elements passed."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focused(page)
        if now is not None:
            seen.append(now)
            if match(now):
                return seen
    raise AssertionError(f"not reached by Tab; focus went through {seen}")


def _form_controls(page: Any) -> list[str]:
    """Names (else ids) of the form's visible, enabled controls in document order."""
    return page.eval_on_selector_all(
        f"form.record-form :is({CONTROLS})",
        "els => els.filter(e => !e.disabled && e.offsetParent !== null).map(e => e.getAttribute('name') || e.id)")


def _labels_and_tab_order(page: Any) -> list[str]:
    """Every control of the form has an accessible name; Tab reaches them all in document
    order before the save button. Returns the controls' names."""
    expected = _form_controls(page)
    controls = page.locator(f"form.record-form :is({CONTROLS})")
    for i in range(controls.count()):
        control = controls.nth(i)
        if control.is_visible() and control.is_enabled():
            expect(control).to_have_accessible_name(re.compile(r"\S"))
    passed = _tab_to(page, lambda f: f["tag"] == "button" and f["inForm"] and f["text"] == "保存")
    order: list[str] = []
    last = None
    for f in passed:
        # a date input takes one Tab per segment (year, month, day): count the field once
        if f["inForm"] and f["tag"] in ("input", "select", "textarea") and (f["name"], f["id"]) != last:
            order.append(f["name"] or f["id"])
        last = (f["name"], f["id"])
    assert order == expected, (order, expected)
    return expected


def test_document_form_labels_and_order(browser: Any, server: str) -> None:
    page = login_page(browser, server, "sales")
    page.goto(f"{server}/app/standard/sales_order/new")
    names = _labels_and_tab_order(page)
    assert "customer" in names and "lines-0-item" in names  # header fields and the child rows
    page.close()


def test_form_by_keyboard(browser: Any, server: str) -> None:
    page = login_page(browser, server, "sales")
    page.goto(f"{server}/app/standard/customer/new")
    expected = _labels_and_tab_order(page)
    assert len(expected) >= 5, expected
    for name in expected:  # the names come from <label for>
        control = page.locator(f"form.record-form [name='{name}']")
        assert page.locator(f"label[for='{control.get_attribute('id')}']").count() == 1, f"{name}: no <label for>"

    # fill by keyboard only: back to the first field, type, Tab on
    page.keyboard.press("Shift+Tab")
    while (_focused(page) or {}).get("name") != expected[0]:
        page.keyboard.press("Shift+Tab")
    values = {"code": "C-KB-01", "name": "键盘客户", "contact": "王五", "phone": "13800000000", "city": "杭州"}
    for name in expected:
        assert _focused(page)["name"] == name
        if name in values:
            page.keyboard.type(values[name])
        if name == "name":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # implicit submission from a text field
    page.wait_for_url(re.compile(r".*/customer/\d+$"))
    assert page.get_by_role("heading", name=re.compile("键盘客户")).count() == 1
    page.close()


def _draft_order(server: str) -> dict[str, Any]:
    def one(entity: str, expr: str) -> Any:
        from urllib.parse import quote

        return api(server, "GET", f"/api/apps/standard/data/{entity}?limit=1&filter={quote(expr)}",
                   user="sales")["data"][0]["id"]

    body = {"customer": one("customer", 'code == "C-001"'), "warehouse": one("warehouse", 'code == "WH-SH"'),
            "lines": [{"item": one("item", 'sku == "SKU-A002"'), "qty": "1", "price": "9.90"}]}
    order = api(server, "POST", "/api/apps/standard/data/sales_order", user="sales", body=body)
    assert isinstance(order, dict) and order.get("id"), order
    return dict(order)


def _press_transition(browser: Any, server: str, user: str, url: str, transition: str) -> Any:
    """``user``'s page on ``url`` after Tab reached the ``transition`` button and Enter."""
    page = login_page(browser, server, user)
    page.goto(url)
    _tab_to(page, lambda f: f["transition"] == transition)
    page.keyboard.press("Enter")
    return page


def test_transitions_by_keyboard(browser: Any, server: str) -> None:
    order = _draft_order(server)
    url = f"{server}/app/standard/sales_order/{order['id']}"
    for user, transition, state in (("sales", "submit", "pending_approval"), ("manager", "approve", "approved")):
        page = _press_transition(browser, server, user, url, transition)
        page.wait_for_selector(f".state-{state}")
        page.close()

    # a transition with inputs: Enter opens its dialog, focus lands inside, Enter confirms
    warehouse = _press_transition(browser, server, "warehouse", url, "ship")
    dialog = warehouse.locator("#dlg-ship")
    expect(dialog).to_be_visible()
    first = _focused(warehouse)
    if not (first and first["inDialog"] and first["tag"] == "input"):
        first = _tab_to(warehouse, lambda f: f["inDialog"] and f["tag"] == "input")[-1]
    assert first["name"].endswith("warehouse_confirm_code"), first
    expect(warehouse.locator(f"#{first['id']}")).to_have_accessible_name(re.compile("仓库确认码"))
    warehouse.keyboard.type("1234")
    warehouse.keyboard.press("Tab")
    assert _focused(warehouse)["name"].endswith("logistics_no")
    warehouse.keyboard.type("SF-KB-001")
    warehouse.keyboard.press("Enter")
    warehouse.wait_for_selector(".state-shipped")
    warehouse.close()
