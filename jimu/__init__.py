"""Jimu (积木): a low-code platform for inventory-centred business apps."""

__version__ = "0.1.0"
