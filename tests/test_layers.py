"""The one-way layer rule: core <- platform <- runtime <- designer <- templates_market."""

from __future__ import annotations

import ast
from pathlib import Path

from jimu.core import pyast

ROOT = Path(__file__).resolve().parents[1] / "jimu"
ORDER = ["core", "platform", "runtime", "designer", "templates_market"]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "jimu" and parts[1] in ORDER:
        return parts[1]
    return None


def test_no_backward_imports() -> None:
    bad = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        own = rel.parts[0] if rel.parts[0] in ORDER else None
        if own is None:
            continue
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                target = _layer(name)
                if target and ORDER.index(target) > ORDER.index(own):
                    bad.append(f"{rel}:{node.lineno} imports {name}")
    assert not bad, "backward imports:\n" + "\n".join(bad)


def test_core_imports_nothing_of_jimu() -> None:
    for path in (ROOT / "core").rglob("*.py"):
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jimu"):
                assert node.module.startswith("jimu.core"), f"{path.name} imports {node.module}"
