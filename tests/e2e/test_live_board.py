"""The kanban board refreshes live: sales keeps a board open; an admin (another session)
fires a transition and edits a card through the API; the card moves to its new column and
shows the new title without a reload, and its masked field stays masked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import api, login_page

pytestmark = pytest.mark.e2e

APP = "live_board"
SPEC: dict[str, Any] = {
    "name": APP,
    "entities": [{"name": "task", "label": {"zh": "任务", "en": "Task"}, "title_field": "title", "fields": [
        {"name": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}},
        {"name": "cost", "type": "decimal", "label": {"zh": "成本", "en": "Cost"},
         "options": {"precision": 18, "scale": 2}},
        {"name": "state", "type": "choice", "default": '"todo"', "label": {"zh": "状态", "en": "State"},
         "options": {"choices": ["todo", "doing", "done"]}}]}],
    "workflows": [{"name": "task", "entity": "task", "states": [
        {"name": "todo", "label": {"zh": "待办", "en": "To do"}, "initial": True},
        {"name": "doing", "label": {"zh": "进行中", "en": "Doing"}},
        {"name": "done", "label": {"zh": "完成", "en": "Done"}, "final": True}],
        "transitions": [{"name": "start", "from": ["todo"], "to": "doing", "roles": ["admin"]},
                        {"name": "finish", "from": ["doing"], "to": "done", "roles": ["admin"]}]}],
    "views": [{"name": "task_board", "entity": "task", "kind": "kanban", "columns": ["title", "cost"],
               "group_by": "state"}],
    "roles": [{"name": "admin", "entities": {"task": {"read": True, "create": True, "update": True,
                                                      "transitions": ["start", "finish"],
                                                      "fields": {"state": "read"}}}},
              {"name": "sales", "entities": {"task": {"read": True, "fields": {
                  "state": "read", "cost": {"mask": "ROUND_TO(cost, 1000)"}}}}}],
}


@pytest.fixture(scope="module")
def board(served_jimu: Any) -> str:
    from jimu.core.errors import NotFound

    try:
        served_jimu.store.published(APP)
    except NotFound:
        served_jimu.store.create_app(APP, {"zh": "看板测试", "en": "Board test"})
        served_jimu.store.save_draft(APP, SPEC, author="admin")
        served_jimu.store.publish(APP, author="admin")
    return APP


def _card(page: Any, state: str, rid: int) -> Any:
    return page.locator(f".kcards[data-state='{state}'] .kcard[data-id='{rid}']")


def test_board_moves_and_updates_cards_live(browser: Any, server: str, board: str, shots: Any) -> None:
    task = api(server, "POST", f"/api/apps/{board}/data/task", body={"title": "盘点 A 区", "cost": "123456.78"})
    assert isinstance(task, dict), task
    page = login_page(browser, server, "sales")
    page.goto(f"{server}/app/{board}/task/kanban")
    card = _card(page, "todo", task["id"])
    assert card.count() == 1 and "盘点 A 区" in card.inner_text()
    assert "123,000" in card.inner_text() or "123000" in card.inner_text(), card.inner_text()
    page.wait_for_function("() => window.jimuLive && window.jimuLive.readyState === 1")
    page.evaluate("window.__jimuNoReload = 1")

    # another user fires the transition: the card moves to its new column
    moved = api(server, "POST", f"/api/apps/{board}/data/task/{task['id']}/transitions/start", body={})
    assert isinstance(moved, dict), moved
    _card(page, "doing", task["id"]).wait_for()
    assert _card(page, "todo", task["id"]).count() == 0
    assert page.locator(".kcol", has=page.locator(".kcards[data-state='doing']")).locator("h2 .badge").inner_text() \
        == str(page.locator(".kcards[data-state='doing'] .kcard").count())

    # ...and edits the record: the card updates in place, the cost still masked
    current = api(server, "GET", f"/api/apps/{board}/data/task/{task['id']}")
    edited = api(server, "PATCH", f"/api/apps/{board}/data/task/{task['id']}",
                 body={"title": "盘点 B 区", "cost": "987654.32"}, headers={"If-Match": f'"{current["version"]}"'})
    assert isinstance(edited, dict), edited
    card = _card(page, "doing", task["id"])
    card.filter(has_text="盘点 B 区").wait_for()
    assert "988,000" in card.inner_text() or "988000" in card.inner_text(), card.inner_text()
    html = page.content()
    assert "987654" not in html and "987,654" not in html, "the real cost reached the page"
    assert "123456" not in html and "123,456" not in html
    assert page.evaluate("window.__jimuNoReload === 1"), "the board was reloaded"

    # the refreshed board still drags (Sortable bound to the new columns)
    assert page.evaluate("!!document.querySelector(\".kcards[data-state='done']\")")
    page.screenshot(path=str(shots / "kanban-live.png"))
    page.close()
