"""Every extension point of Jimu, declared in one place (pluggy hook specs).

Built-in behaviour registers through these same hooks as ordinary plugins
(``jimu.platform.builtin_plugins``), exactly as a CBU's trusted Python or a third-party
package would. A lower layer that needs behaviour from a higher one calls a hook here; the
higher layer registers the implementation when it is imported.

Each hook returns a list; pluggy collects one list per plugin and the helpers below flatten
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["hookspec", "hookimpl", "get_plugin_manager", "collect", "register"]

PROJECT = "jimu"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class JimuHookSpecs:
    @hookspec
    def jimu_spec_validators(self) -> list[Callable[..., Any]]:
        """Functions ``(app: AppSpec) -> list[Finding]`` run by spec validation."""
        raise NotImplementedError

    @hookspec
    def jimu_publish_gates(self) -> list[Callable[..., Any]]:
        """Functions ``(app: AppSpec) -> list[Finding]`` run before publish (health scan);
        a blocking finding stops the publish."""
        raise NotImplementedError

    @hookspec
    def jimu_expression_functions(self) -> list[Any]:
        """Expression functions (name, arity, types, evaluator, SQL compiler, docs)."""
        raise NotImplementedError

    @hookspec
    def jimu_health_rules(self) -> list[Any]:
        """Health rules (stable id, category, severity, check, optional fix)."""
        raise NotImplementedError

    @hookspec
    def jimu_automation_actions(self) -> list[Any]:
        """Automation action kinds (name, params schema, run)."""
        raise NotImplementedError

    @hookspec
    def jimu_ledger_posting_kinds(self) -> list[Any]:
        """Ledger posting kinds (receipt, reserve, ship, transfer, adjust, ...)."""
        raise NotImplementedError

    @hookspec
    def jimu_ledger_guards(self) -> list[Callable[..., Any]]:
        """Functions ``(conn, app, ledger, lines)`` called by the move engine before a
        posting changes any balance (``lines``: the engine's ``Line`` objects with full
        ``dims``, bucket ``changes`` and the ``doc``); one refuses the whole posting by
        raising a :class:`~jimu.core.errors.JimuError` (e.g. a stocktake's freeze, 409
        ``stocktake.in_progress``). They run in the posting's transaction."""
        raise NotImplementedError

    @hookspec
    def jimu_template_install_steps(self) -> list[Any]:
        """Steps run when a template or CBU is installed (sample data, dashboards, ...)."""
        raise NotImplementedError

    @hookspec
    def jimu_template_installers(self) -> list[Callable[..., Any]]:
        """Functions ``(jimu, app, template, params, actor) -> result`` that install a
        template (or CBU) into a new app (``POST /api/apps {template}``). The templates
        market registers one when imported; the runtime API calls the first, so the
        runtime never imports the market (layers import one way only)."""
        raise NotImplementedError

    @hookspec
    def jimu_record_listeners(self) -> list[Any]:
        """Objects with ``before_write(ctx)``/``after_write(ctx)`` called inside the record
        transaction (audit, outbox, formulas, ledger postings), and optionally
        ``after_bulk_insert(conn, app, entity, rows)`` for the rows of a bulk insert
        (column-keyed, as bound; rollups)."""
        raise NotImplementedError


_pm: pluggy.PluginManager | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with Jimu's built-in plugins registered."""
    global _pm
    if _pm is None:
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(JimuHookSpecs)
        _pm = pm
        from jimu.platform import builtin_plugins

        builtin_plugins.register_all(pm)
        pm.load_setuptools_entrypoints("jimu")
    return _pm


def register(plugin: object, name: str | None = None) -> None:
    """Register ``plugin`` once (a second registration under the same name is ignored)."""
    pm = get_plugin_manager()
    plugin_name = name or getattr(plugin, "__name__", None) or repr(plugin)
    if pm.get_plugin(plugin_name) is None and not pm.is_registered(plugin):
        pm.register(plugin, name=plugin_name)


def collect(hook_name: str) -> list[Any]:
    """Call hook ``hook_name`` and flatten the lists every plugin returned."""
    pm = get_plugin_manager()
    results = getattr(pm.hook, hook_name)()
    out: list[Any] = []
    for part in results:
        out.extend(part or [])
    return out
