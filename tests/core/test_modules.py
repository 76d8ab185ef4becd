from __future__ import annotations

import sys

import pytest

from jimu.core.modules import import_optional


def test_missing_module_is_none_present_module_is_imported() -> None:
    assert import_optional("jimu.no_such_module") is None
    assert import_optional("jimu.no_such_package.inner") is None
    assert import_optional("jimu.core.money") is sys.modules["jimu.core.money"]


def test_broken_module_is_not_taken_for_absent(tmp_path, monkeypatch) -> None:
    (tmp_path / "broken_mod.py").write_text("import definitely_not_installed_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError):
        import_optional("broken_mod")
