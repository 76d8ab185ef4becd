"""Thread-safe wrappers of ``ast.parse`` and ``ast.literal_eval``.

CPython 3.11 keeps the recursion counter of its AST-to-object conversion in interpreter-wide
state, so two threads calling ``ast.parse`` at once can fail with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905). The server parses
expressions from a thread pool, so every parse in Jimu goes through one lock; parses are
cached by their callers, so the lock is rarely contended."""

from __future__ import annotations

import ast
import threading
from typing import Any

__all__ = ["parse", "parse_eval", "literal_eval", "AST_LOCK"]

AST_LOCK = threading.Lock()


def _parse(source: str, mode: str, filename: str) -> Any:
    with AST_LOCK:
        try:
            return ast.parse(source, filename=filename, mode=mode)
        except SystemError as exc:
            # A parse by code that does not take this lock (a library in another thread)
            # can still collide; the collision is transient, so parse once more.
            if "recursion depth mismatch" not in str(exc):
                raise
            return ast.parse(source, filename=filename, mode=mode)


def parse(source: str, mode: str = "exec", filename: str = "<unknown>") -> ast.AST:
    """``ast.parse`` under the process-wide AST lock."""
    return _parse(source, mode, filename)  # type: ignore[no-any-return]


def parse_eval(source: str, filename: str = "<unknown>") -> ast.Expression:
    """``ast.parse(source, mode="eval")`` under the lock, typed as an Expression."""
    return _parse(source, "eval", filename)  # type: ignore[no-any-return]


def literal_eval(text: str) -> Any:
    """``ast.literal_eval`` under the process-wide AST lock."""
    with AST_LOCK:
        return ast.literal_eval(text)
