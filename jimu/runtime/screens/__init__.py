"""Generated screens: server-rendered Jinja2 + htmx + Alpine.js pages for every entity
(list, form, detail, kanban), dashboards (ECharts), login, app switcher and inbox, in
zh-CN and English. Everything goes through :class:`jimu.runtime.access.AccessPolicy`.

Template lookup is app → CBU → built-in (see :mod:`jimu.runtime.screens.env` and
``README.md`` in this folder). Routes are in :mod:`jimu.runtime.screens.routes`.
"""

__all__: list[str] = []
