"""The one-way layer rule: core <- platform <- runtime <- designer <- templates_market.

Imports count whether written as ``import``/``from`` statements or as a call that imports
a module named by a literal string (``importlib.import_module("jimu.x")``,
``import_optional("jimu.x")``, ``__import__("jimu.x")``): a string hides the edge from the
statement scan but not from the layer rule.

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
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else None
            if name in ("import_module", "import_optional", "__import__"):
                out.append([str(path.relative_to(root)), node.lineno, node.args[0].value])
print(json.dumps(out))
"""


def _imports(root: Path = ROOT) -> list[tuple[str, int, str]]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(root)], capture_output=True, text=True, check=True,
                          timeout=120)
    return [(f, n, m) for f, n, m in json.loads(done.stdout)]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "jimu" and parts[1] in ORDER:
        return parts[1]
    return None


def _backward(root: Path = ROOT) -> list[str]:
    bad = []
    for rel, line, name in _imports(root):
        own = Path(rel).parts[0]
        if own not in ORDER:
            continue
        target = _layer(name)
        if target and ORDER.index(target) > ORDER.index(own):
            bad.append(f"{rel}:{line} imports {name}")
    return bad


def test_no_backward_imports() -> None:
    bad = _backward()
    assert not bad, "backward imports:\n" + "\n".join(bad)


def test_string_imports_count_as_imports(tmp_path: Path) -> None:
    """The scan sees an edge hidden in a string (the runtime API once reached the market
    through ``importlib.import_module("jimu.templates_market.installer")``). Mutation:
    drop the ``ast.Call`` branch of the scan and this fails."""
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "sneaky.py").write_text(
        "import importlib\nfrom jimu.core.modules import import_optional\n"
        "a = importlib.import_module('jimu.templates_market.installer')\n"
        "b = import_optional('jimu.designer.routes')\nc = __import__('jimu.platform.db')\n", encoding="utf-8")
    assert _backward(tmp_path) == ["runtime/sneaky.py:3 imports jimu.templates_market.installer",
                                   "runtime/sneaky.py:4 imports jimu.designer.routes"]


def test_core_imports_nothing_of_jimu() -> None:
    for rel, line, name in _imports():
        if Path(rel).parts[0] == "core" and name.startswith("jimu"):
            assert name.startswith("jimu.core"), f"{rel}:{line} imports {name}"
