"""The template market: capability units (CBUs), templates built from them, and the
installer that merges them into an app (install, three-way upgrade, uninstall).

Public entry points: :func:`jimu.templates_market.installer.install_template`,
:func:`~jimu.templates_market.installer.install_cbu`,
:func:`~jimu.templates_market.lifecycle.upgrade_cbu`,
:func:`~jimu.templates_market.lifecycle.uninstall_cbu` and the catalogue in
:mod:`jimu.templates_market.catalog`. Importing the package registers its hooks
(:mod:`jimu.templates_market.plugin`), e.g. the template installer the runtime API uses.
"""

from jimu.platform import hooks as _hooks
from jimu.templates_market import plugin as _plugin

_hooks.register(_plugin, name="jimu.templates_market.plugin")

__all__: list[str] = []
