"""The unique check folded into the INSERT (``INSERT ... ON CONFLICT DO NOTHING
RETURNING``): a taken value answers the same 422 (code ``unique``, the same field and
message, in the same place among the other errors) as the SELECT that ran before every
insert, on SQLite and PostgreSQL, and leaves the caller's transaction usable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from jimu.core.errors import ValidationError

SPEC = {
    "name": "parts",
    "label": {"zh": "零件", "en": "Parts"},
    "entities": [
        {"name": "part", "label": {"zh": "零件", "en": "Part"},
         "unique_together": [["family", "size"]],
         "fields": [{"name": "sku", "type": "text", "unique": True, "required": True},
                    {"name": "name", "type": "text", "required": True},
                    {"name": "family", "type": "text"},
                    {"name": "size", "type": "integer"},
                    {"name": "qty", "type": "decimal",
                     "validation": {"expression": "qty >= 0", "message": {"zh": "不能为负", "en": "not negative"}}}]},
        {"name": "kit", "label": {"zh": "套件", "en": "Kit"},
         "fields": [{"name": "code", "type": "text", "required": True},
                    {"name": "parts", "type": "child_table", "options": {"entity": "kit_part"}}]},
        {"name": "kit_part", "label": {"zh": "套件零件", "en": "Kit part"},
         "fields": [{"name": "serial", "type": "text", "unique": True}]},
    ],
}


@pytest.fixture
def parts(jimu):
    jimu.store.create_app("parts", SPEC["label"])
    jimu.store.save_draft("parts", SPEC, author="admin")
    jimu.store.publish("parts", author="admin")
    return jimu


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str, str]]:
    return [(e.field, e.code, e.message) for e in exc.value.errors]


def _count(jimu, table: str) -> int:
    with jimu.db.read() as c:
        return int(c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_a_taken_value_is_the_same_422_and_the_transaction_goes_on(parts) -> None:
    """In one write transaction (PostgreSQL aborts a transaction on a failed statement):
    a taken sku is 422 ``unique`` naming the record that has it, and the next create in
    the same transaction commits. Mutation: ``folds_unique`` always True but the INSERT built plain (no
    ON CONFLICT DO NOTHING): the conflict raises IntegrityError instead of the 422."""
    first = parts.records.create("parts", "part", {"sku": "P1", "name": "bolt"})
    with parts.db.write() as c:
        with pytest.raises(ValidationError) as exc:
            parts.records.create("parts", "part", {"sku": "P1", "name": "nut"}, conn=c)
        assert _errors(exc) == [("sku", "unique", f"P1 is already used by part {first['id']}")]
        second = parts.records.create("parts", "part", {"sku": "P2", "name": "nut"}, conn=c)
    assert parts.records.get("parts", "part", second["id"])["name"] == "nut"
    assert _count(parts, "app_parts__part") == 2
    # The failed create left no audit row and no event behind (only the two creates').
    assert _count(parts, "jimu_audit") == 2 and _count(parts, "jimu_event") == 2


def test_a_taken_value_among_other_errors_keeps_its_place(parts) -> None:
    """All errors at once, the unique one where the SELECT put it (after required, before
    nothing else): mutation: drop the look-up in the ``if errors:`` branch of
    ``_insert_stored`` and the sku error goes missing."""
    parts.records.create("parts", "part", {"sku": "P1", "name": "bolt"})
    with pytest.raises(ValidationError) as exc:
        parts.records.create("parts", "part", {"sku": "P1", "size": "big"})
    assert [(f, code) for f, code, _m in _errors(exc)] == [("size", "type"), ("name", "required"), ("sku", "unique")]


def test_a_taken_value_wins_over_a_validation_rule(parts) -> None:
    """Before, the unique check raised before the validation rules ran: a taken sku with
    a negative qty answers the sku only. Mutation: drop the look-up in the ``if errs:``
    branch and the answer becomes the qty rule."""
    parts.records.create("parts", "part", {"sku": "P1", "name": "bolt"})
    with pytest.raises(ValidationError) as exc:
        parts.records.create("parts", "part", {"sku": "P1", "name": "nut", "qty": "-1"})
    assert [(f, code) for f, code, _m in _errors(exc)] == [("sku", "unique")]
    with pytest.raises(ValidationError) as exc:
        parts.records.create("parts", "part", {"sku": "P2", "name": "nut", "qty": "-1"})
    assert [(f, code) for f, code, _m in _errors(exc)] == [("qty", "validation")]


def test_another_constraint_still_raises_its_own_error(parts) -> None:
    """A conflict the field checks do not know (``unique_together``) is still the
    database's IntegrityError, as before, not a silent no-op. Mutation: return the
    ``ON CONFLICT DO NOTHING`` result without the plain INSERT retry and the create
    fails on the missing row instead."""
    parts.records.create("parts", "part", {"sku": "P1", "name": "bolt", "family": "M", "size": 8})
    with pytest.raises(sa.exc.IntegrityError):
        parts.records.create("parts", "part", {"sku": "P2", "name": "bolt", "family": "M", "size": 8})
    assert _count(parts, "app_parts__part") == 1


def test_a_taken_value_in_a_child_row(parts) -> None:
    """Child rows with a unique field are inserted one by one through the same path: a
    serial used by an earlier kit, or twice in one list, is the row's 422 and nothing of
    the kit is written. Mutation: as the first test (a plain INSERT)."""
    parts.records.create("parts", "kit", {"code": "K1", "parts": [{"serial": "S1"}]})
    with pytest.raises(ValidationError) as exc:
        parts.records.create("parts", "kit", {"code": "K2", "parts": [{"serial": "S2"}, {"serial": "S1"}]})
    assert [(f, code) for f, code, _m in _errors(exc)] == [("parts[1].serial", "unique")]
    with pytest.raises(ValidationError) as exc:
        parts.records.create("parts", "kit", {"code": "K3", "parts": [{"serial": "S3"}, {"serial": "S3"}]})
    assert [(f, code) for f, code, _m in _errors(exc)] == [("parts[1].serial", "unique")]
    assert _count(parts, "app_parts__kit") == 1 and _count(parts, "app_parts__kit_part") == 1
