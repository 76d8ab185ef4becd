"""In a real browser: the XSS payloads of issue 17 stay inert (no dialog, no injected
attribute), a cross-site auto-posted login starts no session, and the Content-Security-
Policy is enforced (an inline script is blocked and reported; the autouse watcher of
conftest fails every browser test on such a report)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e import conftest
from tests.e2e.conftest import TABLET
from tests.e2e.conftest import login_page as _login

pytestmark = pytest.mark.e2e

PAYLOADS = ["x onmouseover=alert(document.domain) y", 'x" onmouseover="alert(document.domain)" y',
            "</form><img src=x onerror=alert(document.domain)>", "'-alert(1)-'"]


def _dialogs(page: Any) -> list[str]:
    fired: list[str] = []

    def on_dialog(d: Any) -> None:
        fired.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    return fired


def test_filter_payloads_stay_inert(browser: Any, server: str) -> None:
    """Mutation caught: ``x-data="jimuFilter({{ params.rows|tojson }})"`` (the attribute
    closed, ``onmouseover`` became one and hovering the filter ran it)."""
    page = _login(browser, server, "sales")
    fired = _dialogs(page)
    for payload in PAYLOADS:
        query = urlencode({"f_field": "name", "f_op": "eq", "f_value": payload})
        page.goto(f"{server}/app/standard/customer?{query}")
        page.locator("form.toolbar").hover()
        page.locator("h1").hover()
        page.locator("form.toolbar").hover()
        assert page.evaluate("() => document.querySelectorAll('[onmouseover],[onerror],img[src=x]').length") == 0
        # Alpine (CSP build) still runs: the filter row shows the value as typed
        assert page.locator("input[name='f_value']").first.input_value() == payload
    # the filter builder's other expressions run under the CSP build too: add and remove rows
    rows = page.locator(".filter-row")
    page.get_by_role("button", name="+ 添加条件").click()
    assert rows.count() == 2 and page.locator("select[name='f_op']").nth(1).input_value() == "eq"
    rows.nth(0).locator("button").click()
    assert rows.count() == 1 and page.locator("input[name='f_value']").first.input_value() == ""
    assert fired == []
    page.close()


def test_designer_label_payload_stays_inert(browser: Any, server: str, served_jimu: Any) -> None:
    """Mutation caught: ``<script>window.JIMU_APP = {{ app_json|safe }};</script>``."""
    label = "</script><script>alert(document.domain)</script><!--"
    if not served_jimu.store.exists("xss_label"):
        served_jimu.store.create_app("xss_label", {"zh": label, "en": label})
    page = browser.new_page(viewport=TABLET, locale="zh-CN")
    fired = _dialogs(page)
    page.goto(f"{server}/designer/login?next=/designer/xss_label")
    page.locator("#username").fill("admin")
    page.locator("#password").fill("admin")
    page.locator("#login-submit").click()
    page.wait_for_url(f"{server}/designer/xss_label")
    page.wait_for_function("() => window.J && window.J.app")
    assert page.evaluate("() => window.JIMU_APP.label.zh") == label
    assert fired == []
    page.close()


def test_cross_site_auto_posted_login_starts_no_session(browser: Any, server: str) -> None:
    """An attacker's page auto-posts the login form with ``next=`` pointing at the list
    payload: refused, no session, no script. Mutation caught: POST /login without the
    same-origin check (the victim got the attacker's session and the payload page)."""
    context = browser.new_context(viewport=TABLET, locale="zh-CN")
    page = context.new_page()
    fired = _dialogs(page)
    target = "/app/standard/customer?" + urlencode({"f_field": "name", "f_op": "eq", "f_value": PAYLOADS[0]})
    evil = f"""<!doctype html><form id=f method=post action="{server}/login">
      <input name=username value=sales><input name=password value=sales>
      <input name=next value='{json.dumps(target)[1:-1]}'></form>
      <script>document.getElementById('f').submit()</script>"""
    page.route("http://evil.test/**", lambda route: route.fulfill(status=200, content_type="text/html", body=evil))
    with page.expect_navigation(url=f"{server}/login"):
        page.goto("http://evil.test/attack")
    assert page.locator("[role=alert]").count() == 1
    assert not any(c["name"] == "jimu_session" for c in context.cookies())
    assert fired == []
    context.close()


def test_csp_blocks_inline_script_and_the_watcher_reports_it(browser: Any, server: str) -> None:
    """The policy is enforced by the browser, and the CSP watcher of conftest sees the
    violation (so a template that brings back an inline script or handler fails the whole
    browser suite). Mutation caught: a script-src with 'unsafe-inline' (the script ran)."""
    page = browser.new_page(viewport=TABLET, locale="zh-CN")
    page.goto(f"{server}/login")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__inlineRan = 1'; document.head.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__inlineRan === undefined")
    found = list(conftest.CSP_VIOLATIONS)
    conftest.CSP_VIOLATIONS.clear()  # expected here: the autouse check must not fail this test
    assert any("script-src" in v for v in found), found
    page.close()


TAB_LABEL = '详情 "<b>\'x\'</b>'


def _form_app(jimu: Any) -> None:
    """An app whose form has tabs (one label full of quotes and markup) and a section shown
    by a rule: the form component's expressions, with values from the spec."""
    if jimu.store.exists("xss_form"):
        return
    jimu.store.create_app("xss_form", {"zh": "表单", "en": "Form"})
    jimu.store.put_element("xss_form", "entity", "note", {"name": "note", "fields": [
        {"name": "title", "type": "text"},
        {"name": "kind", "type": "choice", "options": {"choices": [{"value": "a", "label": "甲"},
                                                                    {"value": "b", "label": "乙"}]}},
        {"name": "detail", "type": "text"}, {"name": "extra", "type": "text"}]})
    jimu.store.put_element("xss_form", "form", "note", {"name": "note", "entity": "note", "sections": [
        {"name": "base", "tab": "基本", "fields": ["title", "kind"]},
        {"name": "more", "tab": TAB_LABEL, "fields": ["detail"]},
        {"name": "onlyb", "tab": "基本", "fields": ["extra"], "visible_if": 'kind == "b"'}]})
    jimu.store.publish("xss_form")


def test_form_tabs_and_rules_work_under_the_csp(browser: Any, server: str, served_jimu: Any) -> None:
    """The form component (tabs, server-evaluated visibility rules) runs in Alpine's CSP
    build with a tab label full of quotes and markup (rendered with attr_json). Mutation
    caught: the label written into the expression with ``|tojson`` alone (the attribute
    closed at its first quote: the tab never switched and the rest became attributes), and
    a section with a tab and a rule carrying two ``x-show`` attributes (the browser kept
    the first: the rule was ignored)."""
    _form_app(served_jimu)
    page = _login(browser, server, "admin")
    fired = _dialogs(page)
    page.goto(f"{server}/app/xss_form/note/new")
    base, more, onlyb = (page.locator(f"fieldset[data-section='{n}']") for n in ("base", "more", "onlyb"))
    assert base.is_visible() and more.is_hidden()
    onlyb.wait_for(state="hidden")
    page.get_by_role("tab", name=TAB_LABEL).click()
    more.wait_for(state="visible")
    assert base.is_hidden()
    assert page.get_by_role("tab", name=TAB_LABEL).get_attribute("aria-selected") == "true"
    page.get_by_role("tab", name="基本").click()
    page.locator("#f-kind").select_option("b")
    onlyb.wait_for(state="visible")
    page.get_by_role("tab", name=TAB_LABEL).click()  # a rule-shown section still follows its tab
    onlyb.wait_for(state="hidden")
    assert page.evaluate("() => document.querySelectorAll('b, [onmouseover]').length") == 0
    assert fired == []
    page.close()
