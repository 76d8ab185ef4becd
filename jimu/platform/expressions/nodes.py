"""The expression tree shared by the checker, the evaluator and the SQL compiler.

One node class keeps walking simple: ``kind`` says what it is, ``op``/``value``/``args``
carry the details, ``pos`` is the 0-based character offset in the user's source, and the
checker fills ``type`` (and resolves ``name``/``attr`` nodes into ``field``, ``path``,
``var``, ``extra``, ``userattr`` or ``childcol`` nodes).

Kinds: ``lit`` (value), ``name`` (value=str), ``attr`` (args=[base], value=str),
``field`` (value=field name), ``path`` (value=tuple of link field names ending in a field),
``childcol`` (value=(child_table field, column field or None)), ``var`` (value in user, now,
today, roles), ``userattr`` (value=attribute), ``extra`` (value=name), ``unary``, ``bin``,
``cmp``, ``in`` (op "in"/"not in"), ``bool`` (op "and"/"or"), ``if`` (cond, then, else),
``call`` (value=function name), ``list``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jimu.platform.expressions.types import ANY, T

__all__ = ["Node", "walk"]


@dataclass(eq=False)
class Node:
    kind: str
    pos: int
    op: str = ""
    value: Any = None
    args: list[Node] = field(default_factory=list)
    type: T = ANY

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.args)
        return f"{self.kind}{'[' + self.op + ']' if self.op else ''}({self.value!r}; {inner}):{self.type}"


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents first."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.args))
