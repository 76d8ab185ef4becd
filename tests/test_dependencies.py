"""Every runtime dependency in ``pyproject.toml`` is one the ``jimu`` package really
imports (a dependency nobody imports is dead weight in every install; a test-only one
belongs in the ``test`` extra). The import graph is read with ``ast`` and mapped to
distributions with :func:`importlib.metadata.packages_distributions`."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runtime dependencies used without an import statement in jimu, each with the reason.
INDIRECT = {
    "python-multipart": "Starlette's request.form() parses form posts with it (screens, designer)",
    "httptools": "uvicorn's http='auto' parses requests with it when installed (jimu serve/demo)",
    "uvloop": "uvicorn's loop='auto' runs on it when installed (jimu serve/demo)",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_dependencies() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [_normal(re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0]) for d in project["dependencies"]]


def _imported_distributions() -> set[str]:
    tops: set[str] = set()
    for path in (ROOT / "jimu").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops.add(node.module.split(".")[0])
    owners = importlib.metadata.packages_distributions()
    return {_normal(d) for top in tops for d in owners.get(top, [])}


def test_every_runtime_dependency_is_imported() -> None:
    """Mutation: put ``simpleeval`` (never imported: the evaluator compiles the checked
    tree to Python itself) or ``jsonschema`` (used only by tests) back into
    ``[project] dependencies`` and this fails."""
    used = _imported_distributions()
    dead = [d for d in _runtime_dependencies() if d not in used and d not in INDIRECT]
    assert not dead, f"runtime dependencies never imported by jimu: {dead}"
