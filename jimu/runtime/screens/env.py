"""Template lookup for the generated screens: app → CBU → built-in.

A page is looked up, for an app ``A`` owning CBUs ``c1, c2`` (the ``owners`` map of its
spec), in this order, first match wins:

1. ``$JIMU_SCREENS_DIR/A/`` (or the ``screens_dir`` setting) — the app's own overrides;
2. ``jimu/cbu_library/<cbu>/templates/`` for every CBU the app was built from;
3. the built-in ``jimu/runtime/screens/templates/``.

Within each folder an entity-specific template wins over the generic one
(``sales_order/detail.html`` before ``detail.html``), like Django admin's
app → model → default. Every built-in template is also reachable as
``builtin/<name>``, so an override replaces one block without copying the page::

    {% extends "builtin/detail.html" %}
    {% block detail_header %}<h1>My header</h1>{% endblock %}
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, select_autoescape

from jimu.runtime.screens.escape import install as install_escapes

__all__ = ["BUILTIN_DIR", "CBU_LIBRARY", "template_env", "template_names", "loader_chain"]

BUILTIN_DIR = Path(__file__).parent / "templates"
CBU_LIBRARY = Path(__file__).resolve().parents[2] / "cbu_library"
_envs: dict[tuple[Any, ...], Environment] = {}
_lock = threading.Lock()


def _override_root(settings: dict[str, Any]) -> Path | None:
    raw = settings.get("screens_dir") or os.environ.get("JIMU_SCREENS_DIR")
    return Path(raw) if raw else None


def _cbus(owners: dict[str, str]) -> list[str]:
    """CBU folder names from an owners map (``entity:item`` -> ``item@1.0.0``), in first-seen order."""
    return list(dict.fromkeys(str(v).split("@", 1)[0] for v in owners.values() if v))


def loader_chain(settings: dict[str, Any], app: str | None, owners: dict[str, str] | None) -> list[Path]:
    """The folders searched for ``app``'s templates, most specific first."""
    folders: list[Path] = []
    root = _override_root(settings)
    if root is not None and app:
        folders.append(root / app)
    for cbu in _cbus(owners or {}):
        folders.append(CBU_LIBRARY / cbu / "templates")
    folders.append(BUILTIN_DIR)
    return [f for f in folders if f.is_dir()]


def template_env(settings: dict[str, Any], app: str | None = None, version: int = 0,
                 owners: dict[str, str] | None = None) -> Environment:
    """The Jinja2 environment for ``app`` (cached per app version and override folder)."""
    folders = loader_chain(settings, app, owners)
    key = (app, version, tuple(str(f) for f in folders))
    env = _envs.get(key)
    if env is not None:
        return env
    builtin = FileSystemLoader(str(BUILTIN_DIR))
    loaders: list[BaseLoader] = [FileSystemLoader(str(f)) for f in folders]
    loaders.append(PrefixLoader({"builtin": builtin}))
    env = install_escapes(Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(default=True),
                                      auto_reload=bool(settings.get("debug")), trim_blocks=True, lstrip_blocks=True))
    with _lock:
        if len(_envs) > 256:
            _envs.clear()
        _envs[key] = env
    return env


def template_names(page: str, entity: str | None = None) -> list[str]:
    """Candidate names for ``page`` (``list.html``): entity-specific first."""
    names: Iterable[str] = ([f"{entity}/{page}"] if entity else []) + [page]
    return list(names)
