"""The one-way layer rule: core <- platform <- runtime <- designer <- templates_market.

The import graph is read in a child interpreter: CPython 3.11 shares the state of its
AST conversion between threads, and other tests leave server threads running in this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "jimu"
ORDER = ["core", "platform", "runtime", "designer", "templates_market"]

_SCRIPT = r"""
import ast, json, sys
from pathlib import Path
root = Path(sys.argv[1])
out = []
for path in sorted(root.rglob("*.py")):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [[str(path.relative_to(root)), node.lineno, a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append([str(path.relative_to(root)), node.lineno, node.module])
print(json.dumps(out))
"""


def _imports() -> list[tuple[str, int, str]]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(ROOT)], capture_output=True, text=True, check=True,
                          timeout=120)
    return [(f, n, m) for f, n, m in json.loads(done.stdout)]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "jimu" and parts[1] in ORDER:
        return parts[1]
    return None


def test_no_backward_imports() -> None:
    bad = []
    for rel, line, name in _imports():
        own = Path(rel).parts[0]
        if own not in ORDER:
            continue
        target = _layer(name)
        if target and ORDER.index(target) > ORDER.index(own):
            bad.append(f"{rel}:{line} imports {name}")
    assert not bad, "backward imports:\n" + "\n".join(bad)


def test_core_imports_nothing_of_jimu() -> None:
    for rel, line, name in _imports():
        if Path(rel).parts[0] == "core" and name.startswith("jimu"):
            assert name.startswith("jimu.core"), f"{rel}:{line} imports {name}"
