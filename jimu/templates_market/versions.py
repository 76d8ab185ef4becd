"""Semantic versions and version ranges for CBU dependencies.

Ranges: ``*``, an exact ``1.2.3``, caret ``^1.2`` (same major), tilde ``~1.2`` (same minor),
``1.x``, and comparisons joined by commas or spaces (``>=1.0,<2.0``).
"""

from __future__ import annotations

import re

from jimu.core.errors import ValidationError

__all__ = ["Version", "parse_version", "satisfies", "is_range"]

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_PARTIAL = re.compile(r"^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$")

Version = tuple[int, int, int]


def parse_version(text: str) -> Version:
    """``"1.2.3"`` as ``(1, 2, 3)``; refuses anything that is not semver."""
    m = _SEMVER.match(str(text).strip())
    if not m:
        raise ValidationError(f"'{text}' is not a semantic version (MAJOR.MINOR.PATCH)", code="cbu.version")
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def _partial(text: str) -> tuple[int, int | None, int | None]:
    m = _PARTIAL.match(text)
    if not m:
        raise ValidationError(f"'{text}' is not a version range", code="cbu.range")
    minor = m.group(2)
    patch = m.group(3)
    return (int(m.group(1)), int(minor) if minor and minor.isdigit() else None,
            int(patch) if patch and patch.isdigit() else None)


def _bounds(term: str) -> list[tuple[str, Version]]:
    """One range term as a list of (operator, version) comparisons."""
    if term in ("*", "x", ""):
        return []
    for op in (">=", "<=", ">", "<", "="):
        if term.startswith(op):
            major, minor, patch = _partial(term[len(op):].strip())
            return [(op if op != "=" else "==", (major, minor or 0, patch or 0))]
    if term.startswith("^"):
        major, minor, patch = _partial(term[1:])
        low = (major, minor or 0, patch or 0)
        if major > 0 or minor is None:
            high = (major + 1, 0, 0)
        elif minor > 0 or patch is None:
            high = (0, minor + 1, 0)
        else:
            high = (0, 0, (patch or 0) + 1)
        return [(">=", low), ("<", high)]
    if term.startswith("~"):
        major, minor, patch = _partial(term[1:])
        low = (major, minor or 0, patch or 0)
        high = (major, (minor or 0) + 1, 0) if minor is not None else (major + 1, 0, 0)
        return [(">=", low), ("<", high)]
    major, minor, patch = _partial(term)
    if minor is None:
        return [(">=", (major, 0, 0)), ("<", (major + 1, 0, 0))]
    if patch is None:
        return [(">=", (major, minor, 0)), ("<", (major, minor + 1, 0))]
    return [("==", (major, minor, patch))]


_OPS = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b,
}


def satisfies(version: str, spec: str | None) -> bool:
    """Whether ``version`` is inside the range ``spec`` (None or ``*``: any)."""
    v = parse_version(version)
    if not spec:
        return True
    terms = [t for t in re.split(r"[,\s]+", spec.strip()) if t]
    # ">= 1.0" written with a space: glue a bare operator to its version.
    glued: list[str] = []
    for t in terms:
        if glued and glued[-1] in (">=", "<=", ">", "<", "=", "^", "~"):
            glued[-1] += t
        else:
            glued.append(t)
    return all(_OPS[op](v, bound) for term in glued for op, bound in _bounds(term))


def is_range(spec: str) -> bool:
    """Whether ``spec`` parses as a range."""
    try:
        satisfies("0.0.0", spec)
    except ValidationError:
        return False
    return True
