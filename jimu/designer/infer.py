"""Field type inference from a business-language label: the rules live in
:mod:`jimu.platform.specs.infer` (the runtime's import preview uses them too); re-exported
here for the designer."""

from jimu.platform.specs.infer import RULES, infer_field_type

__all__ = ["infer_field_type", "RULES"]
