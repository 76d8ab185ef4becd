"""Saving a form as a role with a row filter: the record is checked against the filter
after the write (create and edit), in the same transaction, like the API does."""

from __future__ import annotations

import pytest

from tests.runtime.screens.conftest import login_client, make_app


@pytest.fixture(scope="module")
def notes_app(std):
    spec = {"name": "notes", "entities": [{"name": "note", "fields": [
        {"name": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}, "required": True},
        {"name": "owner", "type": "text", "default": "$user"}]}],
        "roles": [{"name": "clerk", "entities": {"note": {"read": True, "create": True, "update": True,
                                                          "row_filter": "owner == $user"}}}]}
    std.store.create_app("notes", {"zh": "便签", "en": "Notes"})
    std.store.save_draft("notes", spec, author="admin")
    std.store.publish("notes", author="admin")
    std.users.create("clerk1", "clerk1", ["clerk"])
    return make_app(std)


def test_form_save_with_a_row_filter(std, notes_app):
    c = login_client(notes_app, "clerk1")
    csrf = c.cookies.get("jimu_csrf")
    r = c.post("/app/notes/note/new", data={"csrf_token": csrf, "title": "mine"})
    assert r.status_code == 303, r.text[:500]
    rid = int(r.headers["location"].rstrip("/").split("/")[-1])
    assert std.records.get("notes", "note", rid)["owner"] == "clerk1"
    r = c.post(f"/app/notes/note/{rid}/edit", data={"csrf_token": csrf, "version": "1", "title": "renamed"})
    assert r.status_code == 303, r.text[:500]
    assert std.records.get("notes", "note", rid)["title"] == "renamed"
    # Writing the owner away would take the note outside the clerk's rows: refused, nothing saved.
    r = c.post(f"/app/notes/note/{rid}/edit", data={"csrf_token": csrf, "version": "2", "owner": "someone"})
    assert r.status_code in (403, 422), r.status_code
    assert std.records.get("notes", "note", rid)["owner"] == "clerk1"
