"""Versions, dependency resolution (cycles, missing units) and manifest validation."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from jimu.core.errors import Conflict, NotFound, ValidationError
from jimu.templates_market.catalog import LIBRARY, Catalog
from jimu.templates_market.manifest import cbu_json_schema, load_cbu
from jimu.templates_market.resolve import resolve
from jimu.templates_market.versions import satisfies


@pytest.mark.parametrize("version,spec,ok", [
    ("1.2.3", "^1.0", True), ("2.0.0", "^1.0", False), ("0.2.5", "^0.2", True), ("0.3.0", "^0.2", False),
    ("1.2.9", "~1.2", True), ("1.3.0", "~1.2", False), ("1.4.0", ">=1.0,<2.0", True), ("2.1.0", ">= 1.0 <2", False),
    ("3.0.0", "*", True), ("1.0.0", "1.0.0", True), ("1.9.0", "1.x", True),
])
def test_ranges(version: str, spec: str, ok: bool) -> None:
    assert satisfies(version, spec) is ok


def _unit(root: Path, name: str, depends: list[str], version: str = "1.0.0") -> None:
    folder = root / f"{name}_{version}"
    folder.mkdir(parents=True)
    (folder / "cbu.yaml").write_text(yaml.safe_dump({
        "name": name, "version": version, "title": {"zh": name, "en": name},
        "depends": [{"name": d, "version": "^1.0"} for d in depends]}), encoding="utf-8")


def test_order_cycle_and_missing(tmp_path: Path) -> None:
    _unit(tmp_path, "a", ["b", "c"])
    _unit(tmp_path, "b", ["c"])
    _unit(tmp_path, "c", [])
    _unit(tmp_path, "x", ["y"])
    _unit(tmp_path, "y", ["x"])
    _unit(tmp_path, "m", ["ghost"])
    cat = Catalog([tmp_path], [])
    assert [p.name for p in resolve(cat, [("a", None)])] == ["c", "b", "a"]
    assert [p.name for p in resolve(cat, [("a", None)], installed={"c": "1.2.0"})] == ["b", "a"]
    with pytest.raises(ValidationError, match="dependency cycle: x → y → x"):
        resolve(cat, [("x", None)])
    with pytest.raises(NotFound, match="'m' depends on 'ghost'"):
        resolve(cat, [("m", None)])
    with pytest.raises(Conflict, match="upgrade c first"):
        resolve(cat, [("a", None)], installed={"c": "2.0.0"})


def test_bad_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "cbu.yaml").write_text("name: bad\nversion: one\ntitle: x\ndomains: [Not A Tag]\n")
    with pytest.raises(ValidationError) as info:
        load_cbu(tmp_path / "bad")
    fields = {e.field for e in info.value.errors}
    assert {"version", "domains"} <= fields


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in LIBRARY.glob("*/cbu.yaml")))
def test_library_manifest_matches_json_schema(folder: str) -> None:
    data = yaml.safe_load((LIBRARY / folder / "cbu.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, cbu_json_schema())
    pkg = load_cbu(LIBRARY / folder)
    assert pkg.manifest.domains and pkg.manifest.intended.uses
