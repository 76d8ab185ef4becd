"""Masks of the simplest forms as direct Python closures over one column's raw value.

The list encoder (:mod:`jimu.runtime.access.encoder`) shows a masked field as
``_json(compiled.evaluate(record, env))``, or ``MASK_FAILED`` when that raises: per row a
record dict, the expression's wrapper (budget, clock, error translation), the generated
function, the function's own checks, then the JSON conversion. The masks roles use most are
``ROUND(field, n)``, a field itself or a constant; for those this module builds one closure
``fn(raw)`` from the column's raw driver value to the same JSON value:

* ``ROUND(field)`` / ``ROUND(field, n)`` (``n`` a literal): the field's value converted as the
  record would hold it, then exactly :func:`jimu.platform.expressions.runtime.f_round`
  (NULL stays NULL, an integer stays itself, a decimal is quantized half away from zero);
* ``field``: the converted value;
* a literal: the constant;

then what :meth:`CompiledExpression.evaluate` adds (an integer result of a decimal-typed
expression becomes a Decimal) and the encoder's ``_json``. Anything raised after the
conversion gives ``MASK_FAILED``, as the expression engine's path does. Any other form
returns None here and keeps the general path. Equality with the engine is a property test
(``tests/runtime/access/test_maskfast.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["mask_closure", "round_form"]

_ONE = Decimal(1)


def _simple(node: Any) -> tuple[str, Any] | None:
    """("field", name) or ("lit", value) for a field reference or a literal; else None."""
    if node.kind == "field" and isinstance(node.value, str):
        return "field", node.value
    if node.kind == "lit":
        return "lit", node.value
    return None


def round_form(compiled: Any) -> tuple[str, int] | None:
    """(field, n) for a mask ``ROUND(field, n)`` (``ROUND(field)``: n = 0) that
    :func:`mask_closure` takes, else None. For a field value known to be a finite Decimal
    the closure's answer is ``format(value.quantize(10 ** -n, ROUND_HALF_UP), "f")``
    (with a ``to_json`` that writes Decimals so): a caller may inline exactly that."""
    if getattr(compiled, "_needs_budget", True) or getattr(compiled, "_needs_now", True):
        return None
    root = compiled.root
    if root.kind != "call" or root.value != "ROUND" or not 1 <= len(root.args) <= 2:
        return None
    target = _simple(root.args[0])
    if target is None or target[0] != "field":
        return None
    if len(root.args) == 1:
        return str(target[1]), 0
    n = root.args[1]
    if n.kind != "lit" or type(n.value) is not int:
        return None
    return str(target[1]), n.value


def mask_closure(compiled: Any, read: Callable[[str], Callable[[Any], Any] | None],
                 to_json: Callable[[Any], Any], failed: Any) -> tuple[str | None, Callable[[Any], Any]] | None:
    """(the field whose raw value the closure takes, or None for a constant; the closure)
    for a mask of a supported form, else None. ``read(field)`` is that field's conversion
    from the raw value to what a record holds (None: the raw value is it)."""
    root = compiled.root
    decimal_result = bool(getattr(compiled, "_decimal", False))
    if getattr(compiled, "_needs_budget", True) or getattr(compiled, "_needs_now", True):
        return None
    digits: int | None = None
    target = _simple(root)
    if target is None:
        if root.kind != "call" or root.value != "ROUND" or not 1 <= len(root.args) <= 2:
            return None
        target = _simple(root.args[0])
        if target is None or target[0] != "field":
            return None
        if len(root.args) == 2:
            n = root.args[1]
            if n.kind != "lit" or type(n.value) is not int:
                return None
            digits = n.value
        else:
            digits = 0

    def finish(value: Any) -> Any:
        if decimal_result and type(value) is int:
            value = Decimal(value)
        return to_json(value)

    if target[0] == "lit":
        constant = finish(target[1])
        return None, lambda _raw: constant
    field = str(target[1])
    convert = read(field)
    if digits is None:
        def plain(raw: Any) -> Any:
            value = raw if convert is None else convert(raw)
            try:
                return finish(value)
            except Exception:  # noqa: BLE001 - the engine's path answers MASK_FAILED for any error
                return failed

        return field, plain
    quantum = _ONE.scaleb(-digits)

    def rounded(raw: Any) -> Any:
        x = raw if convert is None else convert(raw)
        if x is None:
            return None
        try:
            return finish(x if isinstance(x, int) else x.quantize(quantum, ROUND_HALF_UP))
        except Exception:  # noqa: BLE001 - as above
            return failed

    return field, rounded
