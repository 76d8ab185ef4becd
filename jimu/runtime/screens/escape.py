"""Where JSON meets HTML: the two encoders every template uses.

A value built from user input (a filter typed in the URL, an app label, a field label)
must never end its HTML context. Two contexts carry JSON in Jimu's pages:

* an attribute value (``data-rows="..."``, read by ``jimu.js`` with ``JSON.parse``):
  :func:`attr_json` HTML-escapes the JSON text, ``"`` included, so the attribute cannot be
  closed and no handler attribute can be injected, whatever the quoting;
* a data block (``<script type="application/json" id="...">...</script>``, read with
  ``JSON.parse(el.textContent)``): :func:`script_json` writes ``<``, ``>``, ``&`` and ``'``
  as ``\\u003c``-style escapes, so ``</script>`` or ``<!--`` in a value cannot end the
  block. A data block is never executed, so the Content-Security-Policy needs no inline
  script.

Jinja's ``tojson`` alone is right for a data block but wrong in a double-quoted attribute
(it leaves ``"`` alone): templates use these two filters instead, registered on every
environment by :func:`install`.
"""

from __future__ import annotations

import html
import json
from typing import Any

from jinja2 import Environment
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

__all__ = ["attr_json", "script_json", "json_text", "data_block", "install"]


def _default(value: Any) -> Any:
    return str(value)


def attr_json(value: Any) -> Markup:
    """``value`` as JSON, HTML-escaped for any attribute value (quoted with ``"`` or ``'``)."""
    return Markup(html.escape(json.dumps(value, ensure_ascii=False, default=_default), quote=True))


def script_json(value: Any) -> Markup:
    """``value`` as JSON safe inside ``<script type="application/json">``: no ``<``, ``>``,
    ``&`` or ``'`` appears literally, so nothing in a value can end the element."""
    return htmlsafe_json_dumps(value, dumps=lambda v, **kw: json.dumps(v, default=_default, **kw))


def json_text(value: Any) -> str:
    """``value`` as JSON text to show on the page: a plain string, so autoescaping escapes
    it like any other text (unlike ``tojson``, whose result is trusted markup)."""
    return json.dumps(value, ensure_ascii=False, default=_default)


def data_block(element_id: str, value: Any) -> Markup:
    """A ``<script type="application/json" id=...>`` element holding ``value`` (read by the
    page's own JavaScript with ``JSON.parse``; never executed)."""
    return Markup('<script type="application/json" id="{}">{}</script>').format(
        html.escape(element_id, quote=True), script_json(value))


def install(env: Environment) -> Environment:
    """Register ``attr_json``, ``script_json``, ``json_text`` and ``data_block`` on ``env``."""
    env.filters["attr_json"] = attr_json
    env.filters["script_json"] = script_json
    env.filters["json_text"] = json_text
    env.globals["data_block"] = data_block
    return env
