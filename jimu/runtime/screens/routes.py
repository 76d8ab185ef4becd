"""Screen routes (HTML) and the static mount of the vendored assets.

::

    GET  /                                  -> /apps when signed in, else /login
    GET  /login, POST /login, GET|POST /logout, GET /lang/{zh|en}?next=
    GET  /apps                              app switcher
    GET  /app/{app}/                        entity menu + inbox
    GET  /app/{app}/inbox                   approvals (approve/reject inline) and notifications
    GET  /app/{app}/dashboard               ECharts dashboard
    GET  /app/{app}/{entity}                list (?q= &filter= &f_field/f_op/f_value &sort= &cursor= &view=)
    GET  /app/{app}/{entity}/export.csv|xlsx   (header row: field labels in the screen language; ?headers=names)
    POST /app/{app}/{entity}/bulk-delete    POST /app/{app}/{entity}/views[/{id}/delete]
    GET|POST /app/{app}/{entity}/new        GET|POST /app/{app}/{entity}/{id}/edit
    GET  /app/{app}/{entity}/{id}           detail
    POST /app/{app}/{entity}/{id}/transition/{name}
    GET  /app/{app}/{entity}/kanban         POST /app/{app}/{entity}/{id}/move  (JSON)
    POST /app/{app}/{entity}/_visible       GET /app/{app}/_options/{target}  GET /app/{app}/_scan/{target}
    GET  /app/{app}/_session                whether the session holds (JSON 200/401), for the live stream
    GET|POST /app/{app}/chat-order          paste a chat message, fix the parsed lines, create the draft order
    GET|POST /app/{app}/import              upload a CSV/XLSX, map its columns, import (per-row error report)
    GET  /app/{app}/_trace/{id}             batch trace: genealogy graph, affected customers (?direction=down|up)
    GET  /app/{app}/_mrp/{run}              MRP planner: item picker, time-phased grid, pegging (?item= &q=)
    GET  /app/{app}/_mrp/{run}/items        the picker's list (htmx live search, ?q=)
    GET  /app/{app}/_mrp/{run}/exceptions   the run's exceptions (?kind= &item= &offset=)
    /static/jimu/...                        vendored htmx, Alpine.js, SortableJS, ECharts + jimu.css/js
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from jimu.runtime.screens import views_chat as chat
from jimu.runtime.screens import views_detail as detail
from jimu.runtime.screens import views_form as form
from jimu.runtime.screens import views_home as home
from jimu.runtime.screens import views_import as imports
from jimu.runtime.screens import views_list as lists
from jimu.runtime.screens import views_mrp as mrp
from jimu.runtime.screens import views_trace as trace
from jimu.runtime.screens.base import STATIC_PREFIX

__all__ = ["routes", "STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def routes() -> list[BaseRoute]:
    """The screen routes plus the static mount."""
    a = "/app/{app}"
    e = a + "/{entity}"
    return [
        Route("/", home.root, methods=["GET"]),
        Route("/login", home.login_page, methods=["GET"]),
        Route("/login", home.login_submit, methods=["POST"]),
        Route("/logout", home.logout, methods=["GET", "POST"]),
        Route("/lang/{code}", home.set_lang, methods=["GET"]),
        Route("/apps", home.apps_page, methods=["GET"]),
        Route(a + "/", home.home_page, methods=["GET"]),
        Route(a + "/inbox", detail.inbox_page, methods=["GET"]),
        Route(a + "/dashboard", home.dashboard_page, methods=["GET"]),
        Route(a + "/_options/{target}", form.options_page, methods=["GET"]),
        Route(a + "/_scan/{target}", form.scan_page, methods=["GET"]),
        Route(a + "/_session", home.session_page, methods=["GET"]),
        Route(a + "/chat-order", chat.chat_order_page, methods=["GET"]),
        Route(a + "/chat-order", chat.chat_order_submit, methods=["POST"]),
        Route(a + "/import", imports.import_page, methods=["GET"]),
        Route(a + "/import", imports.import_submit, methods=["POST"]),
        Route(a + "/_trace/{id}", trace.trace_page, methods=["GET"]),
        Route(a + "/_mrp/{run}", mrp.planner_page, methods=["GET"]),
        Route(a + "/_mrp/{run}/items", mrp.items_partial, methods=["GET"]),
        Route(a + "/_mrp/{run}/exceptions", mrp.exceptions_page, methods=["GET"]),
        Route(e, lists.list_page, methods=["GET"]),
        Route(e + "/export.{fmt:str}", lists.export_page, methods=["GET"]),
        Route(e + "/bulk-delete", lists.bulk_delete, methods=["POST"]),
        Route(e + "/views", lists.save_view_page, methods=["POST"]),
        Route(e + "/views/{view_id:int}/delete", lists.delete_view_page, methods=["POST"]),
        Route(e + "/kanban", detail.kanban_page, methods=["GET"]),
        Route(e + "/_visible", form.visibility_page, methods=["POST"]),
        Route(e + "/new", form.form_page, methods=["GET"]),
        Route(e + "/new", form.form_submit, methods=["POST"]),
        Route(e + "/{id:int}", detail.detail_page, methods=["GET"]),
        Route(e + "/{id:int}/edit", form.form_page, methods=["GET"]),
        Route(e + "/{id:int}/edit", form.form_submit, methods=["POST"]),
        Route(e + "/{id:int}/transition/{name}", detail.transition_submit, methods=["POST"]),
        Route(e + "/{id:int}/move", detail.kanban_move, methods=["POST"]),
        Mount(STATIC_PREFIX, app=StaticFiles(directory=str(STATIC_DIR)), name="jimu-static"),
    ]
