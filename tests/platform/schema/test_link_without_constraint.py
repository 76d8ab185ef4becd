"""A link declared ``db_constraint: false`` (issue 21: an MRP run's ~400,000 machine-written
lines, whose item and supplier keys PostgreSQL checked row by row in the run's COPY) has
no foreign key in the database, on both backends; the record service still refuses a
record naming a missing target (create, update) and refuses deleting a target that is
linked (409 ``record.in_use``), and a spec may not combine it with a cascade or set-null
(SPEC-E021)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from jimu.core.errors import Conflict, ValidationError
from jimu.platform.specs.validate import parse_app
from jimu.runtime.context import Jimu
from tests.platform.schema.conftest import published

SPEC: dict[str, Any] = {
    "name": "plan",
    "entities": [
        {"name": "part", "fields": [{"name": "name", "type": "text"}]},
        {"name": "batch", "fields": [{"name": "name", "type": "text"}]},
        {"name": "line", "fields": [
            {"name": "batch", "type": "link", "options": {"entity": "batch", "on_delete": "cascade"}},
            {"name": "part", "type": "link", "options": {"entity": "part", "on_delete": "restrict",
                                                         "db_constraint": False}},
            {"name": "qty", "type": "integer"}]},
    ],
}


@pytest.fixture
def plan(db_url: str) -> Iterator[Jimu]:
    with published(db_url, "plan", SPEC) as jimu:
        yield jimu


def _foreign_keys(jimu: Jimu) -> dict[str, str]:
    with jimu.db.read() as c:
        return {fk["constrained_columns"][0]: fk["referred_table"]
                for fk in sa.inspect(c).get_foreign_keys("app_plan__line")}


def test_the_table_has_no_foreign_key_for_the_link(plan: Jimu) -> None:
    """Mutation tried: ``build_table`` ignoring ``db_constraint`` (seen failing on both
    backends: the part column had its foreign key)."""
    assert _foreign_keys(plan) == {"batch": "app_plan__batch"}


def test_the_record_service_still_refuses_a_missing_target(plan: Jimu) -> None:
    """Without the database's key only the service's own check stands between a record
    and a dangling link. Mutation tried: ``check_links`` skipping links without a
    constraint (seen failing: the line was stored naming part 999)."""
    batch = plan.records.create("plan", "batch", {"name": "B"})["id"]
    part = plan.records.create("plan", "part", {"name": "P"})["id"]
    with pytest.raises(ValidationError) as err:
        plan.records.create("plan", "line", {"batch": batch, "part": 999, "qty": 1})
    assert [(e.field, e.code) for e in err.value.errors] == [("part", "link.missing")]
    line = plan.records.create("plan", "line", {"batch": batch, "part": part, "qty": 1})
    with pytest.raises(ValidationError) as err:
        plan.records.update("plan", "line", line["id"], {"part": 998})
    assert [(e.field, e.code) for e in err.value.errors] == [("part", "link.missing")]
    assert plan.records.get("plan", "line", line["id"])["part"] == part


def test_deleting_a_linked_target_is_refused_and_the_cascade_kept(plan: Jimu) -> None:
    """Mutation tried: ``referencing`` counting only links with a database constraint
    (seen failing: the part was deleted under its line)."""
    batch = plan.records.create("plan", "batch", {"name": "B"})["id"]
    part = plan.records.create("plan", "part", {"name": "P"})["id"]
    line = plan.records.create("plan", "line", {"batch": batch, "part": part, "qty": 1})["id"]
    with pytest.raises(Conflict) as err:
        plan.records.delete("plan", "part", part)
    assert err.value.code == "record.in_use"
    assert plan.records.get("plan", "part", part)["id"] == part
    plan.records.delete("plan", "batch", batch)  # the constrained link still cascades
    with plan.db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM app_plan__line WHERE id = :i"), {"i": line}).scalar() == 0
    plan.records.delete("plan", "part", part)  # no line links to it any more


@pytest.mark.parametrize("options", [{"on_delete": "cascade", "db_constraint": False},
                                     {"on_delete": "set_null", "db_constraint": False},
                                     {"db_constraint": "no"}])
def test_a_spec_may_not_drop_a_constraint_it_needs(options: dict[str, Any]) -> None:
    """Mutation tried: ``_check_db_constraint`` returning no finding (seen failing for
    each case)."""
    spec: dict[str, Any] = {"name": "plan", "entities": [
        {"name": "part", "fields": [{"name": "name", "type": "text"}]},
        {"name": "line", "fields": [{"name": "part", "type": "link", "options": {"entity": "part", **options}}]}]}
    found = [f for f in parse_app(spec)[1] if f.id == "SPEC-E021"]
    assert [f.path for f in found] == ["entities.line.fields.part.options.db_constraint"]
    ok = {**spec, "entities": [spec["entities"][0], {"name": "line", "fields": [
        {"name": "part", "type": "link", "options": {"entity": "part", "db_constraint": False}}]}]}
    assert not [f for f in parse_app(ok)[1] if f.severity == "error"]
