"""Error messages in the caller's language, with records named as people know them.

The layers below the runtime raise errors with ids and exact numbers (the ledger says
"item 169, warehouse 1": it must not import the runtime to look names up, and it does not
know who is asking). Just before an error leaves for a caller, the API error handler and
the screens call :func:`localize` with the caller's language; every registered localizer
(:func:`register`, e.g. the stock operations' one for ``stock.insufficient`` and
``return.exceeds``) may then rewrite the message and the field errors in that language,
naming items as ``sku name``. The structured data (``extra``) is kept as raised, so a
program reads the same numbers whatever the language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jimu.core.errors import JimuError

__all__ = ["LANGS", "Localizer", "localize", "register"]

log = logging.getLogger("jimu.localize")

LANGS = ("zh", "en")

#: ``(jimu, app, error, lang) -> None``: rewrite ``error`` in ``lang`` (or leave it).
Localizer = Callable[[Any, str, JimuError, str], None]
_LOCALIZERS: list[Localizer] = []


def register(fn: Localizer) -> Localizer:
    """Add a localizer (once); usable as a decorator."""
    if fn not in _LOCALIZERS:
        _LOCALIZERS.append(fn)
    return fn


def localize(jimu: Any, app: str | None, exc: JimuError, lang: str) -> JimuError:
    """Let every localizer rewrite ``exc`` for ``lang`` (in place); returns ``exc``. A
    localizer that fails is logged and skipped: the caller still gets the error as raised."""
    if not app or jimu is None:
        return exc
    for fn in list(_LOCALIZERS):
        try:
            fn(jimu, app, exc, lang)
        except Exception:  # noqa: BLE001 - an error message must never turn into a 500
            log.exception("localizer %r failed on %s", fn, exc.code)
    return exc
