"""The designer (DESIGN sections 3, 14): the builder UI at ``/designer`` and its API
helpers, built on the metadata API (``/api/apps/{app}/meta``)."""

from jimu.designer.infer import infer_field_type

__all__ = ["infer_field_type"]
