"""Alembic environment for Jimu's own system tables."""
