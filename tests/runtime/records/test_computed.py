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
