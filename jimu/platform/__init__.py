"""Metadata and storage: spec models, metadata store, schema evolution, expression
language, permissions model, ledger primitive, audit, health scanner."""
