"""Defaults, formulas and validations computed on write."""

from __future__ import annotations


def test_a_default_literal_is_parsed_once_per_published_entity(shop, monkeypatch) -> None:
    """The fields' default literals are parsed once per published entity, not on every
    create (each parse ran ``compile()``), and still fill the record. Mutation: parse
    them in ``apply_defaults`` per record, as before, and the count grows per create."""
    from jimu.runtime.records import computed

    calls: list[str] = []
    real = computed.literal_default
    monkeypatch.setattr(computed, "literal_default", lambda f: calls.append(f.name) or real(f))
    shop.records.create("shop", "item", {"sku": "A1"})
    first = len(calls)
    shop.records.create("shop", "item", {"sku": "A2"})
    rec = shop.records.create("shop", "item", {"sku": "A3"})
    assert len(calls) == first
    assert rec["active"] is True  # the default (True) still applies


def test_a_literal_default_is_coerced_once_per_published_entity(shop, monkeypatch) -> None:
    """An immutable literal default (the item's ``active = True``) is coerced to its
    field's type once per published entity and shared by the new records; the records
    still get it (and a value given wins). Mutation: drop the ``_Fixed`` branch of
    ``apply_defaults`` (coerce per record, as before) and the count grows per create."""
    from jimu.runtime.records import computed

    calls: list[str] = []
    real = computed.coerce
    monkeypatch.setattr(computed, "coerce", lambda f, v: calls.append(f.name) or real(f, v))
    shop.records.create("shop", "item", {"sku": "B1"})
    first = calls.count("active")
    a2 = shop.records.create("shop", "item", {"sku": "B2"})
    a3 = shop.records.create("shop", "item", {"sku": "B3", "active": False})
    assert calls.count("active") == first <= 1
    assert a2["active"] is True and a3["active"] is False
