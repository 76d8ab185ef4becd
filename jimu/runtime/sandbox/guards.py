"""RestrictedPython compilation and the guarded globals user scripts run with.

Compile-time (RestrictedPython): no names or attributes starting with ``_``, no
``exec``/``eval``, no ``global`` tricks. Run-time guards here: attribute access refuses
frame/code/generator internals (``gi_frame``, ``f_back``, ``f_globals``, ``tb_frame``,
``cr_frame``...), ``str.format``/``format_map`` (format strings reach attributes), and
never hands out a module other than the allow-listed ones; ``getattr`` is the same
guard; imports come only from ``ALLOWED_IMPORTS``; no ``open``, ``type``, ``vars``,
``globals``, ``__import__`` of anything else.
"""

from __future__ import annotations

import types
from typing import Any

from RestrictedPython import compile_restricted, limited_builtins, safe_builtins, utility_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
)
from RestrictedPython.PrintCollector import PrintCollector

__all__ = ["ALLOWED_IMPORTS", "ScriptError", "compile_script", "guarded_globals", "guarded_getattr"]

ALLOWED_IMPORTS = frozenset({"datetime", "decimal", "math", "re"})
_FORBIDDEN_ATTRS = frozenset({
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "func_globals",
    "mro", "format", "format_map", "im_func", "im_self",
})
_OPAQUE = (types.FrameType, types.CodeType, types.TracebackType, types.GeneratorType, types.CoroutineType,
           types.AsyncGeneratorType)


class ScriptError(Exception):
    """A script was refused or failed; ``code`` says why (compile, forbidden, runtime,
    timeout, cpu, memory, crashed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def compile_script(source: str, filename: str = "<script>") -> Any:
    """Compile ``source`` with RestrictedPython; ScriptError('compile') lists the problems."""
    if not isinstance(source, str) or len(source) > 100_000:
        raise ScriptError("compile", "a script is text of at most 100000 characters")
    try:
        result = compile_restricted(source, filename, "exec")
    except SyntaxError as exc:
        raise ScriptError("compile", f"syntax error: {exc}") from None
    return result


def guarded_getattr(obj: Any, name: Any, *default: Any) -> Any:
    """``getattr`` for scripts: refuses private names, frame/generator internals,
    ``str.format`` and modules outside the allow-list."""
    if not isinstance(name, str):
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in _FORBIDDEN_ATTRS:
        raise ScriptError("forbidden", f"access to attribute '{name}' is not allowed")
    if isinstance(obj, _OPAQUE):
        raise ScriptError("forbidden", f"attributes of {type(obj).__name__} objects are not allowed")
    try:
        value = getattr(obj, name)
    except AttributeError:
        if default:
            return default[0]
        raise
    if isinstance(value, types.ModuleType) and value.__name__ not in ALLOWED_IMPORTS:
        raise ScriptError("forbidden", f"module '{value.__name__}' is not available in scripts")
    return value


def _guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if level != 0 or name not in ALLOWED_IMPORTS:
        raise ScriptError("forbidden", f"import of '{name}' is not allowed (allowed: {', '.join(sorted(ALLOWED_IMPORTS))})")
    return __import__(name, globals, locals, fromlist, level)


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    ops = {"+=": lambda: x + y, "-=": lambda: x - y, "*=": lambda: x * y, "/=": lambda: x / y,
           "//=": lambda: x // y, "%=": lambda: x % y, "**=": lambda: x ** y, "|=": lambda: x | y,
           "&=": lambda: x & y, "^=": lambda: x ^ y}
    if op not in ops:
        raise ScriptError("forbidden", f"operator {op} is not allowed")
    return ops[op]()


def guarded_globals(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fresh globals for one script run (``extra``: record, event, api, ...)."""
    builtins = dict(safe_builtins)
    builtins.update(limited_builtins)
    builtins.update(utility_builtins)
    for name in ("string", "random", "whrandom", "set", "frozenset"):
        builtins.pop(name, None)
    builtins.update(__import__=_guarded_import, getattr=guarded_getattr, set=set, frozenset=frozenset,
                    dict=dict, list=list, enumerate=enumerate, sum=sum, min=min, max=max, any=any, all=all,
                    sorted=sorted, reversed=reversed, map=map, filter=filter)
    g: dict[str, Any] = {
        "__builtins__": builtins, "__name__": "script", "__metaclass__": type,
        "_getattr_": guarded_getattr, "_getitem_": default_guarded_getitem, "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard, "_inplacevar_": _inplacevar, "_print_": PrintCollector,
        "_apply_": lambda f, *a, **k: f(*a, **k),
    }
    g.update(extra or {})
    return g
